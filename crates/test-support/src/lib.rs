//! The snapqris test kit, shared by the store's contract tests and the integration tests (a
//! dev-dependency only; never published).
//!
//! - [`on_each_backend!`] runs one `async fn(Backend)` as two tests, `name::sqlite` and
//!   `name::postgres` (ripgrep's `rgtest!` idea); the PostgreSQL one prints that it was skipped
//!   when `SNAPQRIS_TEST_DATABASE_URL` is unset.
//! - [`TestDatabase`] is an empty database for one test: a file in a temporary directory, or a
//!   PostgreSQL database created for the test and dropped afterwards.
//! - [`Serve`] is a `snapqris serve` child process: every wait has a limit, its stderr is kept
//!   (and printed when the test fails), and it is killed when dropped.
//! - [`testdata`] names a file of the repository's `testdata/`.
//! - [`new_partner`] and [`new_merchant`] are the records most store tests start from.
//!
//! ```no_run
//! use snapqris_test_support::{Backend, TestDatabase, on_each_backend};
//!
//! async fn a_fresh_database_has_a_url(backend: Backend) {
//!     let database = TestDatabase::new(&backend).await;
//!     assert!(!database.url().is_empty());
//! }
//!
//! on_each_backend!(a_fresh_database_has_a_url);
//! # fn main() {}
//! ```
#![deny(missing_docs)]

mod database;
mod fixtures;
mod serve;

pub use crate::database::{TestDatabase, schema_of, stored_secrets};
pub use crate::fixtures::{new_merchant, new_partner};
pub use crate::serve::Serve;

use std::path::{Path, PathBuf};

/// Where a test's store lives.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database on the PostgreSQL server at this URL.
    Postgres(String),
}

impl Backend {
    /// PostgreSQL at `SNAPQRIS_TEST_DATABASE_URL`, or `None` (and a line saying the test is
    /// skipped) when the variable is unset or empty.
    pub fn postgres() -> Option<Backend> {
        match std::env::var("SNAPQRIS_TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => Some(Backend::Postgres(url)),
            _ => {
                eprintln!("skipped: SNAPQRIS_TEST_DATABASE_URL is not set, no PostgreSQL run");
                None
            }
        }
    }
}

/// Runs each `async fn $name(backend: Backend)` once per store, as the tests `$name::sqlite` and
/// `$name::postgres`. A leading attribute picks the test runtime (default `#[tokio::test]`,
/// one thread), e.g. `on_each_backend!(#[tokio::test(flavor = "multi_thread")] name)`.
#[macro_export]
macro_rules! on_each_backend {
    (#[$test:meta] $($name:ident),* $(,)?) => {$(
        mod $name {
            #[$test]
            async fn sqlite() {
                super::$name($crate::Backend::Sqlite).await;
            }

            #[$test]
            async fn postgres() {
                if let Some(backend) = $crate::Backend::postgres() {
                    super::$name(backend).await;
                }
            }
        }
    )*};
    ($($name:ident),* $(,)?) => {
        $crate::on_each_backend!(#[tokio::test] $($name),*);
    };
}

/// The file `name` of the repository's `testdata/` (keys, signature vectors, QRIS samples);
/// `testdata("")` is the directory itself.
pub fn testdata(name: &str) -> PathBuf {
    let kit = Path::new(env!("CARGO_MANIFEST_DIR"));
    let repository = kit.ancestors().nth(2).unwrap_or(kit);
    repository.join("testdata").join(name)
}
