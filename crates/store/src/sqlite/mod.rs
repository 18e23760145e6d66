//! The SQLite store: synchronous SQLite calls, with as few thread hand-offs as possible.
//!
//! A request's database work is a handful of microseconds of SQLite; what used to cost more was
//! moving every statement and every row between threads. So:
//! - reads run right where they are asked for, on a connection from a small pool
//!   ([`readers`]): one merchant-day page, one QR, one partner — short, bounded work that WAL
//!   lets run beside the writer;
//! - every write goes to the one writer thread ([`writer`]), which takes all the writes
//!   waiting (claims and the units of work of concurrent requests, [`jobs`]), runs them in one
//!   `BEGIN IMMEDIATE … COMMIT` and only then answers each caller (group commit);
//! - an `X-EXTERNAL-ID` claim appends a row in arrival order, and the writer decides whether the
//!   id is taken from an index in its memory ([`claims`]).

mod checkpointer;
mod claims;
mod console;
pub(crate) mod jobs;
mod list;
pub(crate) mod outbox;
pub(crate) mod pans;
mod permissions;
mod readers;
pub(crate) mod refunds;
mod sql;
mod statements;
mod store;
mod writer;

pub(crate) use store::SqliteStore;

use crate::{Durability, StoreError};
use rusqlite::{Connection, OpenFlags};
use std::path::PathBuf;
use std::time::Duration;

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// WAL pages after which the writer checkpoints by itself (SQLite's default is 1,000): by then
/// the checkpointer thread has copied nearly all of them (`checkpointer.rs`), and this
/// checkpoint lets the WAL start over, so it stays under ~80 MB. The writer's own checkpoint
/// holds up every write waiting behind it (it ends in an `fsync`), so it should be rare: at
/// 20,000 pages rather than 4,000, generate ran 11 % faster (median of 6 interleaved A/B runs,
/// BENCHMARKS.md); without it the WAL would never start over under sustained load.
const WAL_AUTOCHECKPOINT: u32 = 20_000;

/// Bytes the WAL file is cut back to when it starts over (it stays allocated up to this, so a
/// busy WAL is not cut and regrown on every cycle).
const WAL_SIZE_LIMIT: u64 = 96 * 1024 * 1024;

/// Prepared statements each connection keeps.
const STATEMENT_CACHE: usize = 32;

/// Where the database file is and whether it may be created (CONTRACT §2: created on first
/// use, unless the URL says `mode=rw`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Location {
    path: PathBuf,
    create: bool,
}

impl Location {
    /// Reads `sqlite://PATH`, `sqlite:PATH` or either with `?mode=rwc|rw`.
    pub(crate) fn parse(url: &str) -> Result<Location, StoreError> {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| StoreError::UnsupportedUrl(url.to_owned()))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if path.is_empty() || path == ":memory:" {
            return Err(StoreError::UnsupportedUrl(format!(
                "{url} (SQLite needs a file path; an in-memory database is not supported)"
            )));
        }
        let mut create = true;
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            match pair {
                "mode=rwc" => create = true,
                "mode=rw" => create = false,
                _ => {
                    return Err(StoreError::UnsupportedUrl(format!(
                        "{url} (the only SQLite URL option is mode=rwc or mode=rw, not {pair:?})"
                    )));
                }
            }
        }
        Ok(Location {
            path: PathBuf::from(path),
            create,
        })
    }

    /// Opens a connection with the settings every snapqris connection shares.
    fn connect(&self, flags: OpenFlags) -> Result<Connection, StoreError> {
        let connection = Connection::open_with_flags(&self.path, flags)?;
        connection.busy_timeout(BUSY_TIMEOUT)?;
        connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(connection)
    }

    /// Opens a connection that only reads (the writer has set the file up already).
    fn open_reader(&self) -> Result<Connection, StoreError> {
        let connection = self.open_reader_writer()?;
        connection.execute_batch("PRAGMA query_only = ON")?;
        Ok(connection)
    }

    /// Opens a connection that may write, without changing the file's settings (the
    /// checkpointer's).
    fn open_reader_writer(&self) -> Result<Connection, StoreError> {
        self.connect(OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
    }

    /// Opens the write connection (creating the file if allowed) and puts it in WAL mode at
    /// the durability asked for.
    fn open_writer(&self, durability: Durability) -> Result<Connection, StoreError> {
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if self.create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        permissions::make_private(&self.path, self.create)
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        let connection = self.connect(flags)?;
        // WAL with synchronous=NORMAL: a committed transaction is in the WAL file (the OS holds
        // it), so a killed process loses nothing; FULL also fsyncs every commit, against power
        // loss.
        let synchronous = match durability {
            Durability::Process => "NORMAL",
            Durability::Power => "FULL",
        };
        connection.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; \
             PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT}; \
             PRAGMA journal_size_limit = {WAL_SIZE_LIMIT};"
        ))?;
        Ok(connection)
    }
}

/// Runs `attempt` again while it fails on another process's lock, for up to [`BUSY_TIMEOUT`].
///
/// The busy timeout covers most waits, but SQLite answers "database is locked" at once where
/// waiting could deadlock — as when two processes open a new file together and both switch it
/// to WAL. Starting over is always safe there: nothing was written.
fn retry_while_busy<T>(
    mut attempt: impl FnMut() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match attempt() {
            Err(StoreError::Backend(error))
                if is_busy(&*error) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            outcome => return outcome,
        }
    }
}

fn is_busy(error: &(dyn std::error::Error + 'static)) -> bool {
    matches!(
        error.downcast_ref::<rusqlite::Error>(),
        Some(rusqlite::Error::SqliteFailure(failure, _))
            if matches!(failure.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_file_and_whether_to_create_it() {
        let cases = [
            ("sqlite://a.db", "a.db", true),
            ("sqlite:a.db", "a.db", true),
            ("sqlite:///tmp/a:b.db", "/tmp/a:b.db", true),
            ("sqlite://a.db?mode=rwc", "a.db", true),
            ("sqlite://a.db?mode=rw", "a.db", false),
        ];
        for (url, path, create) in cases {
            assert_eq!(
                Location::parse(url).unwrap(),
                Location {
                    path: PathBuf::from(path),
                    create
                },
                "{url}"
            );
        }
    }

    #[test]
    fn unsupported_urls_say_why() {
        for url in [
            "sqlite::memory:",
            "sqlite://",
            "sqlite://a.db?mode=ro",
            "sqlite://a.db?cache=shared",
            "postgres://x/y",
        ] {
            let error = Location::parse(url).unwrap_err();
            assert!(
                matches!(error, StoreError::UnsupportedUrl(ref text) if text.contains(url)),
                "{url}: {error}"
            );
        }
    }
}
