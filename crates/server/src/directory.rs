//! Short-lived caches of partners (with parsed keys) and merchants.
//!
//! Every transaction needs its partner and merchant; reading them from the database each time
//! would cost two queries. Entries live [`TTL`], so an operator's change (`partner disable`,
//! `merchant blacklist`, a new key) reaches every node within it (CONTRACT §4: 5 seconds).

use crate::error::ApiError;
use snapqris_protocol::RsaPublicKey;
use snapqris_store::{Merchant, Partner, Store};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long a cached record is trusted; well inside the contract's 5 seconds.
pub(crate) const TTL: Duration = Duration::from_secs(2);

/// Beyond this many entries a cache is cleared rather than grown (unknown ids are cached too).
const MAX_ENTRIES: usize = 100_000;

/// A partner with its public key parsed once.
#[derive(Debug)]
pub(crate) struct PartnerEntry {
    pub(crate) partner: Partner,
    pub(crate) public_key: RsaPublicKey,
}

/// When an entry was fetched, and what was found (`None`: no such record).
type Entry<T> = (Instant, Option<Arc<T>>);

struct TtlCache<T> {
    entries: RwLock<HashMap<String, Entry<T>>>,
}

impl<T> TtlCache<T> {
    fn new() -> Self {
        TtlCache {
            entries: RwLock::new(HashMap::new()),
        }
    }

    fn get(&self, key: &str) -> Option<Option<Arc<T>>> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        match entries.get(key) {
            Some((at, value)) if at.elapsed() < TTL => Some(value.clone()),
            _ => None,
        }
    }

    fn put(&self, key: &str, value: Option<Arc<T>>) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key.to_owned(), (Instant::now(), value));
    }
}

/// Cached look-ups of partners and merchants.
pub(crate) struct Directory {
    store: Arc<dyn Store>,
    partners: TtlCache<PartnerEntry>,
    merchants: TtlCache<Merchant>,
}

impl Directory {
    pub(crate) fn new(store: Arc<dyn Store>) -> Self {
        Directory {
            store,
            partners: TtlCache::new(),
            merchants: TtlCache::new(),
        }
    }

    /// The partner with this client id, whether enabled or not.
    pub(crate) async fn partner(
        &self,
        client_id: &str,
    ) -> Result<Option<Arc<PartnerEntry>>, ApiError> {
        if let Some(hit) = self.partners.get(client_id) {
            return Ok(hit);
        }
        let entry = match self.store.partner(client_id).await? {
            Some(partner) => {
                let public_key =
                    RsaPublicKey::parse(partner.public_key_pem.as_bytes()).map_err(|e| {
                        ApiError::internal(format!("stored key of partner {client_id} unusable"), e)
                    })?;
                Some(Arc::new(PartnerEntry {
                    partner,
                    public_key,
                }))
            }
            None => None,
        };
        self.partners.put(client_id, entry.clone());
        Ok(entry)
    }

    /// The merchant with this id.
    pub(crate) async fn merchant(
        &self,
        merchant_id: &str,
    ) -> Result<Option<Arc<Merchant>>, ApiError> {
        if let Some(hit) = self.merchants.get(merchant_id) {
            return Ok(hit);
        }
        let merchant = self.store.merchant(merchant_id).await?.map(Arc::new);
        self.merchants.put(merchant_id, merchant.clone());
        Ok(merchant)
    }
}
