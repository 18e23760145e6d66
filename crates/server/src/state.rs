//! The state every handler shares.

use crate::clock::Clock;
use crate::config::ServerConfig;
use crate::directory::Directory;
use crate::rate_limit::PartnerRateLimit;
use crate::services::operations::HealthMemo;
use crate::token::{self, TokenAuthority};
use snapqris_store::{Store, StoreError};
use std::sync::Arc;

/// The name of the token key in the store's shared secrets.
const TOKEN_KEY_NAME: &str = "access-token-hmac";

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
}

impl AppState {
    /// Builds the state; reads (or first creates) the deployment's token key in the store.
    pub async fn new(
        config: ServerConfig,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StoreError> {
        let key = store
            .shared_secret(TOKEN_KEY_NAME, &token::random_key())
            .await?;
        Ok(AppState {
            inner: Arc::new(Inner {
                tokens: TokenAuthority::new(&key),
                directory: Directory::new(store.clone(), clock.clone()),
                health: HealthMemo::default(),
                rate_limit: PartnerRateLimit::new(config.rate_limit, clock.clone()),
                config,
                store,
                clock,
            }),
        })
    }

    /// The settings this state was built with.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }
}
