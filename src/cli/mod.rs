//! The command line: parse arguments, then run one command group.

mod admin;
mod args;
mod bench;
mod client;
mod demo;
mod keygen;
mod master_key;
mod notify;
mod operator;
mod outbox;
mod payment;
mod qr;
mod serve;
mod serve_args;
mod settings;
mod show;

use anyhow::Context;
use args::{Cli, Command};
use clap::Parser;
use std::process::ExitCode;

/// Parses the command line (clap exits with status 2 on a usage error) and runs the command.
pub(crate) fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        match cli.command {
            Command::Serve(serve) => serve::run(&cli.global, &serve).await,
            Command::Bench(bench) => bench::run(bench).await,
            Command::Demo => demo::run().await,
            Command::Keygen(keygen) => keygen::run(&keygen),
            Command::Admin(admin) => admin::run(&cli.global, admin).await,
            Command::Client(client) => client::run(client).await,
            Command::Qr(qr) => qr::run(qr),
            Command::Notify(notify) => match notify.command {
                args::NotifyCommand::Listen(listen) => notify::listen(&listen).await,
            },
        }
    })
}

/// A positive decimal id typed by an operator (`id_qr`, a notification id): digits only, so
/// `+5` or ` 5` are refused like any other typo; the error names `what`.
pub(crate) fn parse_positive_id(text: &str, what: &str) -> anyhow::Result<i64> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0 && text.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| anyhow::anyhow!("{what} {text:?} must be a positive whole number"))
}
