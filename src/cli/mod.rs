//! The command line: parse arguments, then run one command group.

mod admin;
mod args;
mod bench;
mod client;
mod demo;
mod keygen;
mod master_key;
mod notify;
mod payment;
mod qr;
mod serve;
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
