//! `snapqris`: the SNAP BI QRIS payment API server, its operator commands and a partner client.
//!
//! `main` only maps the outcome of `cli::run` to an exit status (ripgrep's pattern): 0 on
//! success, 2 for what the argument parser rejects (clap exits by itself), 1 for anything
//! else, with one `error: …` line on stderr.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
