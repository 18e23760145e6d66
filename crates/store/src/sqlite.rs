//! SQLite connection set-up: WAL, durability level, one writer, several readers.

use crate::group_commit::GroupCommitter;
use crate::{Durability, StoreError, StoreOptions};
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, AnyPool, Connection};
use std::time::Duration;

// WAL with synchronous=NORMAL: a committed transaction is in the WAL file (the OS holds it), so
// a killed process loses nothing; FULL also fsyncs every commit, against power loss.
const PRAGMAS_PROCESS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
     PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;";
const PRAGMAS_POWER: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;";

/// Readers beside the single writer; WAL lets them run while it writes.
const READERS: u32 = 4;

/// Adds `mode=rwc` (create the file on first use, CONTRACT §2) unless the URL sets a mode.
fn with_create_mode(url: &str) -> String {
    if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

fn pragmas(durability: Durability) -> &'static str {
    match durability {
        Durability::Process => PRAGMAS_PROCESS,
        Durability::Power => PRAGMAS_POWER,
    }
}

fn pool_options(max_connections: u32, durability: Durability) -> AnyPoolOptions {
    let pragmas = pragmas(durability);
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(move |connection, _| {
            Box::pin(async move {
                sqlx::raw_sql(pragmas).execute(connection).await?;
                Ok(())
            })
        })
}

/// The pools and the group committer of one SQLite store.
pub(crate) struct SqliteConnections {
    /// One connection, for the rare writes (operator commands, expiry, payments).
    pub(crate) writer: AnyPool,
    /// Read-only work.
    pub(crate) reader: AnyPool,
    /// The hot writes (claims, QR inserts), batched.
    pub(crate) committer: GroupCommitter,
}

/// Opens the writer pool (one connection), the reader pool and the group committer's
/// connection.
pub(crate) async fn connect(
    url: &str,
    options: &StoreOptions,
) -> Result<SqliteConnections, StoreError> {
    let url = with_create_mode(url);
    let writer = pool_options(1, options.durability).connect(&url).await?;
    let reader = pool_options(READERS, options.durability)
        .connect(&url)
        .await?;
    let mut connection = AnyConnection::connect(&url).await?;
    sqlx::raw_sql(pragmas(options.durability))
        .execute(&mut connection)
        .await?;
    Ok(SqliteConnections {
        writer,
        reader,
        committer: GroupCommitter::start(connection),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_url_gets_the_create_mode() {
        assert_eq!(with_create_mode("sqlite://a.db"), "sqlite://a.db?mode=rwc");
        assert_eq!(
            with_create_mode("sqlite://a.db?x=1"),
            "sqlite://a.db?x=1&mode=rwc"
        );
        assert_eq!(
            with_create_mode("sqlite://a.db?mode=ro"),
            "sqlite://a.db?mode=ro"
        );
    }
}
