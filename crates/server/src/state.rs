//! The state every handler shares.

use crate::clock::Clock;
use crate::config::{ConfigError, ServerConfig};
use crate::directory::Directory;
use crate::rate_limit::PartnerRateLimit;
use crate::services::operations::HealthMemo;
use crate::token::{self, TokenAuthority};
use snapqris_store::{NodeLease, Store, StoreError};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// The name of the token key in the store's shared secrets.
const TOKEN_KEY_NAME: &str = "access-token-hmac";

/// Why [`AppState::new`] refused to build the state.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A setting out of its range ([`ServerConfig::validate`]).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store could not give the token key or a node number.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Configuration, store and clock, shared by all handlers.
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: ServerConfig,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) tokens: TokenAuthority,
    pub(crate) directory: Directory,
    pub(crate) health: HealthMemo,
    pub(crate) rate_limit: PartnerRateLimit,
    /// This server's `id_qr` node number (CONTRACT §8), released when it stops serving.
    pub(crate) node_lease: Mutex<Option<NodeLease>>,
    /// Woken when this node commits a notification, so the local delivery worker attempts it
    /// at once instead of at its next poll.
    pub(crate) outbox_wakeup: Arc<Notify>,
}

impl AppState {
    /// Builds the state: checks the settings, reads (or first creates) the deployment's token
    /// key in the store, and leases a node number for `id_qr`s (renewed while the state lives).
    pub async fn new(
        config: ServerConfig,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StateError> {
        // The CLI checks first, with its own wording; a library user gets the same refusal.
        config.validate()?;
        let key = store
            .shared_secret(TOKEN_KEY_NAME, &token::random_key())
            .await?;
        let lease = snapqris_store::lease_node(store.clone()).await?;
        tracing::info!(node = lease.node(), "node number leased");
        Ok(AppState {
            inner: Arc::new(Inner {
                tokens: TokenAuthority::new(&key),
                directory: Directory::new(store.clone(), clock.clone()),
                health: HealthMemo::default(),
                rate_limit: PartnerRateLimit::new(config.rate_limit, clock.clone()),
                node_lease: Mutex::new(Some(lease)),
                outbox_wakeup: Arc::new(Notify::new()),
                config,
                store,
                clock,
            }),
        })
    }

    /// Gives the node number back (the server has stopped): the next node may take it at once.
    pub async fn release_node(&self) {
        let lease = self
            .inner
            .node_lease
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(lease) = lease
            && let Err(e) = lease.release().await
        {
            tracing::warn!(error = %e, "could not release the node lease; it expires by itself");
        }
    }

    /// The wake-up the delivery worker waits on beside its poll.
    pub fn outbox_wakeup(&self) -> Arc<Notify> {
        self.inner.outbox_wakeup.clone()
    }

    /// The settings this state was built with.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[tokio::test]
    async fn settings_out_of_range_are_refused_before_the_store_is_touched() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("state.db").display());
        let store = snapqris_store::connect(&url, &Default::default())
            .await
            .unwrap();
        let config = ServerConfig {
            body_limit: 0,
            ..ServerConfig::default()
        };
        let clock = Arc::new(ManualClock::new(time::OffsetDateTime::UNIX_EPOCH));
        let refused = AppState::new(config, store.clone(), clock).await;
        assert!(matches!(refused, Err(StateError::Config(_))));
        assert!(store.shared_secrets().await.unwrap().is_empty());
    }
}
