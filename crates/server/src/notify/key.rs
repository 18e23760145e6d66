//! The notification key as the worker holds it: read from the store at most every
//! [`REFRESH`], so a rotation by `admin notify rotate-key` on any node is signed with within
//! CONTRACT §6.2's 5 s, without a store read per attempt.

use crate::notification_key::{NotificationKeyError, notification_key_pem};
use snapqris_protocol::RsaPrivateKey;
use snapqris_store::Store;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a key read from the store is used before the store is asked again.
const REFRESH: Duration = Duration::from_secs(2);

/// The key in force, with what it was parsed from.
#[derive(Default)]
pub(crate) struct KeyCache {
    held: Option<Held>,
}

struct Held {
    pem: Vec<u8>,
    key: Arc<RsaPrivateKey>,
    read_at: Instant,
}

impl KeyCache {
    /// The current key: the one held when read less than [`REFRESH`] ago, else the store's
    /// (parsed again only when it changed).
    pub(crate) async fn current(
        &mut self,
        store: &dyn Store,
    ) -> Result<Arc<RsaPrivateKey>, NotificationKeyError> {
        if let Some(held) = &self.held
            && held.read_at.elapsed() < REFRESH
        {
            return Ok(held.key.clone());
        }
        let pem = notification_key_pem(store).await?;
        let key = match self.held.take() {
            Some(held) if held.pem == pem => held.key,
            _ => Arc::new(RsaPrivateKey::parse_pem(&pem).map_err(NotificationKeyError::Corrupt)?),
        };
        self.held = Some(Held {
            pem,
            key: key.clone(),
            read_at: Instant::now(),
        });
        Ok(key)
    }
}
