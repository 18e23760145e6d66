//! `snapqris`: the SNAP BI QRIS payment API server, its operator commands and a partner client.
//!
//! `main` only maps the outcome of `cli::run` to an exit status (ripgrep's pattern): 0 on
//! success, 2 for what the argument parser rejects (clap exits by itself), 1 for anything
//! else, with one `error: …` line on stderr.

mod cli;

use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: requests allocate and free on different threads (the
/// SQLite writer decodes rows that a worker frees), and glibc's arena locks showed up as waits
/// in the profile (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code,
        // A reader that stopped reading (`snapqris demo | head`) is not a failure (ripgrep).
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Whether `err` comes from writing to a closed pipe.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
