//! Idle connections to receivers, kept for the next attempt to the same one.
//!
//! A fresh connection costs a TCP handshake (and a TLS one for `https`) on both sides, more
//! than the exchange itself on a fast link. After an answer read to its end, the connection is
//! kept for a few seconds, keyed by scheme, host and address: an attempt still resolves the
//! host and checks the addresses (`client.rs`), and reuses only a connection to one of them, so
//! a kept connection goes nowhere a fresh one could not.
//! Kept connections are few and short-lived: at most [`IDLE_FOR`], under the keep-alive timeout
//! common servers use (Node's is 5 s), and at most [`MAX_IDLE`] in all; expired ones are
//! dropped when the pool is next used.

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a connection is kept unused.
pub(crate) const IDLE_FOR: Duration = Duration::from_secs(4);

/// Connections kept at once, over all receivers: the worker's in-flight bound, four times.
pub(crate) const MAX_IDLE: usize = 4 * crate::notify::worker::CONCURRENCY;

/// Which connections an attempt may reuse: same scheme, same host (the TLS server name), to
/// the same address and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ReceiverKey {
    /// `https` or `http`.
    pub(crate) https: bool,
    /// The host as the URL spells it.
    pub(crate) host: String,
    /// The address connected to, checked by the attempt that opened it and the one reusing it.
    pub(crate) address: SocketAddr,
}

/// An open HTTP/1 connection: where requests go, and the task driving it (ended when dropped).
pub(crate) struct Connection {
    /// Sends the next request.
    pub(crate) sender: SendRequest<Full<Bytes>>,
    /// Reads and writes the socket; held only to be aborted with the connection.
    pub(crate) _driver: AbortOnDrop<()>,
}

/// A spawned task, aborted when this is dropped.
pub(crate) struct AbortOnDrop<T>(pub(crate) tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The kept connections; one per process, shared by all attempts.
#[derive(Default)]
pub(crate) struct Pool {
    idle: Mutex<Idle>,
}

#[derive(Default)]
struct Idle {
    by_receiver: HashMap<ReceiverKey, Vec<(Connection, Instant)>>,
    count: usize,
    /// When expired connections were last dropped: at most once per [`IDLE_FOR`] unless full.
    swept: Option<Instant>,
}

impl Pool {
    /// The most recently kept connection to `key` still open and young enough, if any.
    pub(crate) fn take(&self, key: &ReceiverKey) -> Option<Connection> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let Idle {
            by_receiver, count, ..
        } = &mut *idle;
        let kept = by_receiver.get_mut(key)?;
        let mut found = None;
        // Newest first: under a steady load a few connections stay busy and the rest expire.
        while let Some((connection, since)) = kept.pop() {
            *count -= 1;
            if usable(&connection, since) {
                found = Some(connection);
                break;
            }
        }
        if kept.is_empty() {
            by_receiver.remove(key);
        }
        found
    }

    /// Keeps `connection` for the next attempt to `key`, unless it is closed or the pool is
    /// full (after dropping what has expired).
    pub(crate) fn put(&self, key: ReceiverKey, connection: Connection) {
        if connection.sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if idle.count >= MAX_IDLE || idle.swept.is_none_or(|at| now - at >= IDLE_FOR) {
            idle.expire();
            idle.swept = Some(now);
        }
        if idle.count >= MAX_IDLE {
            return;
        }
        idle.count += 1;
        idle.by_receiver
            .entry(key)
            .or_default()
            .push((connection, now));
    }

    /// Connections kept now (expired ones included until they are next looked at).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.idle.lock().unwrap().count
    }
}

/// Whether a connection kept `since` may carry another request: still open, not expired.
fn usable(connection: &Connection, since: Instant) -> bool {
    since.elapsed() < IDLE_FOR && !connection.sender.is_closed()
}

impl Idle {
    /// Drops every expired or closed connection.
    fn expire(&mut self) {
        let mut count = 0;
        self.by_receiver.retain(|_, kept| {
            kept.retain(|(connection, since)| usable(connection, *since));
            count += kept.len();
            !kept.is_empty()
        });
        self.count = count;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection over an in-memory pipe, and the pipe's other end (dropped: closed).
    async fn connection() -> (Connection, tokio::io::DuplexStream) {
        let (ours, theirs) = tokio::io::duplex(1024);
        let (sender, driver) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(ours))
                .await
                .unwrap();
        let driver = AbortOnDrop(tokio::spawn(async move {
            let _ = driver.await;
        }));
        let connection = Connection {
            sender,
            _driver: driver,
        };
        (connection, theirs)
    }

    fn key(port: u16) -> ReceiverKey {
        ReceiverKey {
            https: false,
            host: "receiver.example".into(),
            address: SocketAddr::from(([192, 0, 2, 1], port)),
        }
    }

    #[tokio::test]
    async fn a_kept_connection_goes_only_to_its_own_receiver() {
        let pool = Pool::default();
        let (kept, _other_end) = connection().await;
        pool.put(key(80), kept);
        assert!(pool.take(&key(81)).is_none());
        let tls = ReceiverKey {
            https: true,
            ..key(80)
        };
        assert!(pool.take(&tls).is_none());
        assert!(pool.take(&key(80)).is_some());
        assert!(pool.take(&key(80)).is_none(), "taken once");
        assert_eq!(pool.len(), 0);
    }

    #[tokio::test]
    async fn a_connection_closed_by_the_other_end_is_not_taken() {
        let pool = Pool::default();
        let (kept, other_end) = connection().await;
        pool.put(key(80), kept);
        drop(other_end);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(pool.take(&key(80)).is_none());
    }

    #[tokio::test]
    async fn the_pool_keeps_at_most_max_idle() {
        let pool = Pool::default();
        let mut other_ends = Vec::new();
        for n in 0..=MAX_IDLE {
            let (kept, other_end) = connection().await;
            other_ends.push(other_end);
            pool.put(key(n as u16 % 7), kept);
        }
        assert_eq!(pool.len(), MAX_IDLE);
    }
}
