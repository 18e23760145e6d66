//! The accept loop behind [`crate::serve`]: hyper's HTTP/1 connections with a timer, so that
//! slow clients cannot hold the server, and a graceful shutdown with a bound.
//!
//! `axum::serve` gives hyper no timer, and without one hyper's `header_read_timeout` never
//! fires: a client that sends half a header block and stalls (slowloris) would keep its
//! connection, and its task, forever. Here every connection gets [`TokioTimer`], a header
//! read timeout and a cap on the header block; the body is bounded by the handlers'
//! `request-timeout` (`504xx00`) and `body-limit` (`400xx00`).

use crate::stall::StallDeadline;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;

/// The largest request line plus header block hyper reads; beyond it hyper answers a bare
/// `431` itself (CONTRACT §4: only the HTTP layer's own hard limit may). Far above what any
/// SNAP header needs, so an over-long single value still reaches the handlers and gets its
/// SNAP field error.
pub(crate) const MAX_HEADER_BLOCK: usize = 64 * 1024;

/// How long in-flight connections may take to finish after shutdown begins.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// How long to pause after an accept error that is not about one connection (out of file
/// descriptors, say), so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// The client's address, given to every request of a router served with `tag_peers` (the
/// console's login limits count wrong passwords per address).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeerAddress(pub(crate) std::net::SocketAddr);

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting and lets
/// open connections finish their requests, for at most [`SHUTDOWN_GRACE`].
///
/// A client must send its whole header block within `header_timeout` of starting it (or of
/// its previous answer, on a kept-alive connection); otherwise hyper closes the connection.
/// With `tag_peers`, each request carries its connection's [`PeerAddress`] (the partner API
/// does without: it would cost every request an extension).
pub(crate) async fn accept_loop(
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
    tag_peers: bool,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // A client that reads nothing of its answer for as long as a request may take is gone.
    let write_stall_limit = header_timeout;
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_header_size(MAX_HEADER_BLOCK)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) if is_connection_error(&error) => continue,
                Err(error) => {
                    tracing::error!(%error, "accept failed; pausing");
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => continue,
                    }
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let router = if tag_peers {
            router.clone().layer(axum::Extension(PeerAddress(peer)))
        } else {
            router.clone()
        };
        let service = TowerToHyperService::new(router);
        let stream = StallDeadline::new(stream, write_stall_limit);
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // Header timeouts, resets and parse errors end here; hyper has already answered
            // what it could (431, 400) and the error says nothing about the client's data.
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_secs = SHUTDOWN_GRACE.as_secs(),
            "connections still open after the shutdown grace period; closing them"
        );
    }
    Ok(())
}

/// Accept errors that concern only the connection being accepted.
fn is_connection_error(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        error.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset | Interrupted
    )
}
