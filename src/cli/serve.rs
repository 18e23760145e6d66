//! `serve`: bind, announce the address, serve until SIGTERM or SIGINT.

use crate::cli::args::{GlobalArgs, LogFormat, ServeArgs};
use crate::cli::settings::Settings;
use anyhow::Context;
use snapqris_server::{AppState, SystemClock};
use std::io::IsTerminal;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use tracing_subscriber::EnvFilter;

/// Runs `serve` (or prints its settings with `--print-config`).
pub(crate) async fn run(global: &GlobalArgs, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::resolve(global, args)?;
    if args.print_config {
        let toml = settings.to_masked_toml()?;
        std::io::stdout().write_all(toml.as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    let _log_writer = init_logging(settings.log_format)?;
    let config = settings.server_config()?;
    let options = settings.store_options()?;
    let store = snapqris_store::connect(&settings.database_url, &options)
        .await
        .context("cannot open the database")?;
    if options.master_key.is_none() {
        tracing::warn!(
            "no master key (--master-key-file): client secrets and the token key are stored in clear"
        );
    }
    let state = AppState::new(config, store, Arc::new(SystemClock))
        .await
        .context("cannot prepare the server state")?;
    // Bound before the API announces itself: a console address in use fails the start.
    let console = match settings.console_listen.as_str() {
        "" => None,
        address => Some(bind_console(address).await?),
    };
    let (listener, address) = listen_and_announce(&settings.listen).await?;
    tracing::info!(%address, "serving");
    let Some((console, console_address)) = console else {
        snapqris_server::serve(listener, state, shutdown_signal())
            .await
            .context("the server failed")?;
        tracing::info!("stopped");
        return Ok(ExitCode::SUCCESS);
    };
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "console on http://{console_address}")
            .and_then(|()| stdout.flush())
            .context("cannot write to stdout")?;
        tracing::info!(address = %console_address, "serving the operator console");
        // One signal stops both listeners.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = stop.send(true);
        });
        let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        let (api, console) = tokio::join!(
            snapqris_server::serve(listener, state.clone(), until_stopped(stopped.clone())),
            snapqris_server::serve_console(console, state, until_stopped(stopped)),
        );
        api.context("the server failed")?;
        console.context("the console failed")?;
    }
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Logs go to stderr, one line per event; `RUST_LOG` overrides the default `info` filter.
///
/// Lines are written by a background thread through a buffer, so a request never waits for a
/// `write(2)` to stderr (one per request line cost a quarter of the token endpoint's
/// throughput, BENCHMARKS.md). That thread takes every line waiting, writes them through a
/// 64 KiB buffer and flushes when none is left: under load many lines share one `write(2)`,
/// and an idle server's lines still appear at once. The writer blocks rather than drops lines
/// when the queue is full, and the returned guard flushes what is left when `serve` ends: keep
/// it alive.
fn init_logging(format: LogFormat) -> anyhow::Result<tracing_appender::non_blocking::WorkerGuard> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stderr(),
        ));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(writer);
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    installed.map_err(|err| anyhow::anyhow!("cannot set up logging: {err}"))?;
    Ok(guard)
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT: shutting down"),
        () = terminate => tracing::info!("SIGTERM: shutting down"),
    }
}

/// Binds `address` and prints `listening on http://IP:PORT` (the real port when 0 was asked).
/// Scripts wait for this exact line (CONTRACT §3), so it goes out whole and at once.
pub(crate) async fn listen_and_announce(
    address: &str,
) -> anyhow::Result<(tokio::net::TcpListener, std::net::SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    let bound = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://{bound}")
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")?;
    Ok((listener, bound))
}

/// Binds the console's address (announced as `console on http://IP:PORT` after the API's
/// `listening on` line, which scripts wait for first).
async fn bind_console(
    address: &str,
) -> anyhow::Result<(tokio::net::TcpListener, std::net::SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address} (console-listen)"))?;
    let bound = listener
        .local_addr()
        .context("cannot read the bound address")?;
    Ok((listener, bound))
}
