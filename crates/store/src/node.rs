//! Node numbers for `id_qr` generation, leased so that two live nodes never share one
//! (CONTRACT §8).
//!
//! An `id_qr` carries its node's number (`ids.rs`), so uniqueness across nodes rests on no two
//! serving processes holding the same number at once. Only serving processes take one: each
//! leases the lowest number that is free (never taken, released, or expired) for
//! [`LEASE_TTL`], renews it every [`RENEW_EVERY`], and releases it when it stops. A process
//! killed with `kill -9` holds its number until the lease expires; admin commands take none.
//! A node that finds its lease lost (it stalled for longer than the TTL and another process took
//! the number) stops handing out ids at once and leases a number again. The `qr_codes` primary
//! key still stands behind all this; a clash there is answered by retrying with a fresh id.

use crate::StoreError;
use crate::ids::QrIdGenerator;
use crate::store::Store;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use time::OffsetDateTime;

/// How long a lease lasts without renewal: a killed node's number is free again after this.
/// Nodes' clocks must agree to well within it.
pub const LEASE_TTL: Duration = Duration::from_secs(30);

/// How often a live node renews its lease.
pub const RENEW_EVERY: Duration = Duration::from_secs(10);

/// The id generator of this process's current lease, if it holds one.
#[derive(Debug, Default)]
pub struct NodeIds {
    current: RwLock<Option<Arc<QrIdGenerator>>>,
}

impl NodeIds {
    /// A fresh `id_qr`; an error when this process holds no node lease (it is not serving, or
    /// it just lost its lease).
    pub(crate) fn next(&self, now: OffsetDateTime) -> Result<i64, StoreError> {
        let current = self.current.read().unwrap_or_else(|p| p.into_inner());
        match current.as_ref() {
            Some(generator) => Ok(generator.next(now)),
            None => Err(StoreError::backend(
                "this process holds no node lease, so it cannot make ids".to_owned(),
            )),
        }
    }

    /// Installs the generator of a lease of `node` taken at `from` (none: stop making ids);
    /// returns the millisecond of the last id the previous generator made.
    fn set(&self, node: Option<(i64, OffsetDateTime)>) -> Option<OffsetDateTime> {
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        let previous = current.as_ref().map(|generator| generator.last());
        *current = node.map(|(node, from)| Arc::new(QrIdGenerator::new(node, from)));
        previous
    }
}

/// This process's lease of a node number: renewed in the background while it lives, released
/// by [`NodeLease::release`] (a lease merely dropped expires by itself).
pub struct NodeLease {
    store: Arc<dyn Store>,
    holder: Arc<str>,
    node: Arc<std::sync::atomic::AtomicI64>,
    renewer: tokio::task::JoinHandle<()>,
}

impl NodeLease {
    /// The node number held now.
    pub fn node(&self) -> i64 {
        self.node.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Gives the number back, so the next node to start may take it from the next
    /// millisecond after the last id made with it (a process taking it in the same
    /// millisecond would make the same ids).
    pub async fn release(self) -> Result<(), StoreError> {
        self.renewer.abort();
        let now = OffsetDateTime::now_utc();
        let last = self.store.node_ids().set(None);
        let until = last.map_or(now, |last| last.max(now));
        self.store
            .release_node(self.node(), &self.holder, until)
            .await
    }
}

impl std::fmt::Debug for NodeLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeLease")
            .field("node", &self.node())
            .finish_non_exhaustive()
    }
}

impl Drop for NodeLease {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

/// Leases a node number for `store`'s process and installs its id generator; renews it every
/// [`RENEW_EVERY`] until the returned lease is released or dropped.
pub async fn lease_node(store: Arc<dyn Store>) -> Result<NodeLease, StoreError> {
    let holder: Arc<str> = holder_id().into();
    let (node, from) = take_a_node(&*store, &holder).await?;
    store.node_ids().set(Some((node, from)));
    let node = Arc::new(std::sync::atomic::AtomicI64::new(node));
    let renewer = tokio::spawn(renew_forever(store.clone(), holder.clone(), node.clone()));
    Ok(NodeLease {
        store,
        holder,
        node,
        renewer,
    })
}

/// Leases a number; with the time the lease began (its ids are of that millisecond or later).
async fn take_a_node(store: &dyn Store, holder: &str) -> Result<(i64, OffsetDateTime), StoreError> {
    let now = OffsetDateTime::now_utc();
    let node = store
        .lease_node(holder, now, now + LEASE_TTL)
        .await?
        .ok_or_else(|| {
            StoreError::backend("all 512 node numbers are leased by live nodes".to_owned())
        })?;
    Ok((node, now))
}

async fn renew_forever(
    store: Arc<dyn Store>,
    holder: Arc<str>,
    node: Arc<std::sync::atomic::AtomicI64>,
) {
    use std::sync::atomic::Ordering;
    let mut ticks = tokio::time::interval(RENEW_EVERY);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let now = OffsetDateTime::now_utc();
        let held = node.load(Ordering::Relaxed);
        match store.renew_node(held, &holder, now + LEASE_TTL).await {
            Ok(true) => {}
            Ok(false) => {
                // Another process took the number: stop making ids with it before anything else.
                store.node_ids().set(None);
                tracing::warn!(node = held, "node lease lost; leasing a number again");
                match take_a_node(&*store, &holder).await {
                    Ok((fresh, from)) => {
                        node.store(fresh, Ordering::Relaxed);
                        store.node_ids().set(Some((fresh, from)));
                        tracing::info!(node = fresh, "node lease taken");
                    }
                    Err(e) => tracing::error!(error = %e, "no node lease: generate will fail"),
                }
            }
            // A database blip: the lease lasts three renewals, so try again next time.
            Err(e) => tracing::warn!(error = %e, node = held, "could not renew the node lease"),
        }
    }
}

/// A holder name no other process shares: process id, time and per-process random keys.
fn holder_id() -> String {
    let random = RandomState::new().hash_one(std::process::id());
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
    format!("{}-{nanos:x}-{random:016x}", std::process::id())
}
