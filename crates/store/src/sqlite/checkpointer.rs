//! Checkpoints off the write path.
//!
//! A WAL database copies committed pages back into the main file at checkpoints. Run by the
//! writer itself (SQLite's automatic checkpoint), each one stalls every waiting write for its
//! copy and `fsync`: tens of milliseconds at the p99 under load. Here a thread of its own
//! runs a `PASSIVE` checkpoint a few times a second; passive checkpoints never block the
//! writer or the readers, they copy what no reader still needs. But the WAL file only starts
//! over once no reader is using it, which a server reading all the time rarely sees; so when the
//! WAL passes [`RESTART_FRAMES`], a `RESTART` checkpoint waits (briefly) for the readers of the
//! moment to finish, and the next commit writes the WAL from its start again. The writer keeps a
//! far-off automatic checkpoint only as a backstop.

use super::Location;
use crate::StoreError;
use std::sync::mpsc;
use std::time::Duration;

/// Time between checkpoints.
const INTERVAL: Duration = Duration::from_millis(250);

/// WAL frames (pages, 4 KiB) past which a checkpoint also restarts the WAL.
const RESTART_FRAMES: i64 = 4096;

/// How long a restarting checkpoint waits for readers (and holds up the writer) at most;
/// it tries again next time when that is not enough.
const RESTART_WAIT: Duration = Duration::from_millis(20);

/// The running checkpointer; dropping it stops the thread.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    /// Starts checkpointing the database at `location` on a connection of its own.
    pub(crate) fn start(location: &Location) -> Result<Checkpointer, StoreError> {
        let connection = location.open_reader_writer()?;
        connection.busy_timeout(RESTART_WAIT)?;
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("snapqris-sqlite-checkpoint".to_owned())
            .spawn(move || {
                // Runs until the sender is dropped (the store is gone).
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                    let restart = match checkpoint(&connection, "PASSIVE") {
                        Ok(frames) => frames > RESTART_FRAMES,
                        Err(e) => {
                            tracing::warn!(error = %e, "WAL checkpoint failed");
                            false
                        }
                    };
                    // Busy (a reader took longer than RESTART_WAIT) is no failure: next time.
                    if restart && let Err(e) = checkpoint(&connection, "RESTART") {
                        tracing::debug!(error = %e, "WAL restart postponed");
                    }
                }
            })
            .map_err(|e| StoreError::backend(format!("cannot start the checkpointer: {e}")))?;
        Ok(Checkpointer { _stop: stop })
    }
}

/// Runs one checkpoint in `mode`; returns the frames the WAL held.
fn checkpoint(connection: &rusqlite::Connection, mode: &str) -> rusqlite::Result<i64> {
    connection.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        row.get::<_, i64>(1)
    })
}
