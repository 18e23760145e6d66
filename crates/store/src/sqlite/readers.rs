//! Read connections, used in place: no thread hand-off for a read.
//!
//! A read takes an idle connection (or opens one), runs on the calling thread and puts the
//! connection back. Reads are short and bounded (one row, or one page of a merchant-day), so
//! running them on an async worker costs less than handing them to another thread; WAL lets
//! them run while the writer thread writes.

use super::Location;
use crate::StoreError;
use rusqlite::Connection;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

/// Idle connections kept for reuse; more may be open at once under load.
pub(crate) const KEPT_IDLE: usize = 8;

/// The read connections of one store.
#[derive(Debug)]
pub(crate) struct Readers {
    location: Location,
    idle: Mutex<Vec<Connection>>,
    open: AtomicU32,
}

impl Readers {
    /// An empty pool for the database at `location`.
    pub(crate) fn new(location: Location) -> Self {
        Readers {
            location,
            idle: Mutex::new(Vec::with_capacity(KEPT_IDLE)),
            open: AtomicU32::new(0),
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        self.idle
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Runs `read` on a read connection.
    pub(crate) fn with<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let taken = self.idle().pop();
        let connection = match taken {
            Some(connection) => connection,
            None => {
                let connection = self.location.open_reader()?;
                self.open.fetch_add(1, Ordering::Relaxed);
                connection
            }
        };
        let outcome = read(&connection);
        let mut idle = self.idle();
        if idle.len() < KEPT_IDLE {
            idle.push(connection);
        } else {
            drop(idle);
            self.open.fetch_sub(1, Ordering::Relaxed);
        }
        outcome
    }

    /// Connections open now and how many of them are idle.
    pub(crate) fn usage(&self) -> (u32, u32) {
        let idle = u32::try_from(self.idle().len()).unwrap_or(u32::MAX);
        (self.open.load(Ordering::Relaxed), idle)
    }
}
