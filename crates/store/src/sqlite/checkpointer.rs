//! Checkpoints off the write path.
//!
//! A WAL database copies committed pages back into the main file at checkpoints. Left to the
//! writer alone (SQLite's automatic checkpoint every 1,000 pages), every copy and `fsync`
//! holds up the writes waiting behind it. Here a thread of its own runs a `PASSIVE` checkpoint
//! every [`INTERVAL`]: passive checkpoints never block the writer or the readers, and copy what
//! no reader still needs. The writer's own automatic checkpoint stays, further out
//! (`WAL_AUTOCHECKPOINT` pages): it finds little left to copy, and it is what lets the WAL file
//! start over from its beginning.

use super::Location;
use crate::StoreError;
use std::sync::mpsc;
use std::time::Duration;

/// Time between checkpoints.
const INTERVAL: Duration = Duration::from_millis(50);

/// The running checkpointer; dropping it stops the thread.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    /// Starts checkpointing the database at `location` on a connection of its own.
    pub(crate) fn start(location: &Location) -> Result<Checkpointer, StoreError> {
        let connection = location.open_reader_writer()?;
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("snapqris-sqlite-checkpoint".to_owned())
            .spawn(move || {
                // Runs until the sender is dropped (the store is gone).
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                    if let Err(e) = connection.execute_batch("PRAGMA wal_checkpoint(PASSIVE)") {
                        tracing::warn!(error = %e, "WAL checkpoint failed");
                    }
                }
            })
            .map_err(|e| StoreError::backend(format!("cannot start the checkpointer: {e}")))?;
        Ok(Checkpointer { _stop: stop })
    }
}
