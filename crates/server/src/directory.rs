//! Short-lived caches of partners (with parsed keys) and merchants.
//!
//! Every transaction needs its partner and merchant; reading them from the database each time
//! would cost two queries. Entries live [`TTL`], so an operator's change (`partner disable`,
//! `merchant blacklist`, a new key) reaches every node within it (CONTRACT §4: 5 seconds).
//!
//! Only records that exist are cached, never a miss (CONTRACT §8: unknown or invalid client ids
//! cost nothing lasting), and partners are looked up by a parsed [`ClientId`]. So a cache holds
//! at most one entry per stored record, each of bounded size (a key of at most 36 characters, a
//! record whose fields the store's rules bound), and [`MAX_ENTRIES`] caps the count: a bound by
//! entries is a bound by bytes here, without weighing every record.

use crate::error::ApiError;
use snapqris_protocol::{ClientId, RsaPublicKey};
use snapqris_store::{Merchant, Partner, Store};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long a cached record is trusted; well inside the contract's 5 seconds.
pub(crate) const TTL: Duration = Duration::from_secs(2);

/// Beyond this many entries a cache drops what has expired, and is cleared if that is not enough.
const MAX_ENTRIES: usize = 100_000;

/// A partner with its public key parsed once.
#[derive(Debug)]
pub(crate) struct PartnerEntry {
    pub(crate) partner: Partner,
    pub(crate) public_key: RsaPublicKey,
}

/// When a record was fetched, and the record.
type Entry<T> = (Instant, Arc<T>);

struct TtlCache<T> {
    entries: RwLock<HashMap<String, Entry<T>>>,
}

impl<T> TtlCache<T> {
    fn new() -> Self {
        TtlCache {
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The record under `key`, if fetched less than [`TTL`] ago.
    fn get(&self, key: &str) -> Option<Arc<T>> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        match entries.get(key) {
            Some((at, value)) if at.elapsed() < TTL => Some(value.clone()),
            _ => None,
        }
    }

    /// Keeps `value`, a record that exists, under `key`.
    fn put(&self, key: &str, value: Arc<T>) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (at, _)| at.elapsed() < TTL);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
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
        client_id: &ClientId,
    ) -> Result<Option<Arc<PartnerEntry>>, ApiError> {
        let client_id = client_id.as_str();
        if let Some(hit) = self.partners.get(client_id) {
            return Ok(Some(hit));
        }
        let Some(partner) = self.store.partner(client_id).await? else {
            return Ok(None);
        };
        let public_key = RsaPublicKey::parse(partner.public_key_pem.as_bytes()).map_err(|e| {
            ApiError::Internal(format!("stored key of partner {client_id} unusable: {e}"))
        })?;
        let entry = Arc::new(PartnerEntry {
            partner,
            public_key,
        });
        self.partners.put(client_id, entry.clone());
        Ok(Some(entry))
    }

    /// The merchant with this id.
    pub(crate) async fn merchant(
        &self,
        merchant_id: &str,
    ) -> Result<Option<Arc<Merchant>>, ApiError> {
        if let Some(hit) = self.merchants.get(merchant_id) {
            return Ok(Some(hit));
        }
        let merchant = self.store.merchant(merchant_id).await?.map(Arc::new);
        if let Some(merchant) = &merchant {
            self.merchants.put(merchant_id, merchant.clone());
        }
        Ok(merchant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl<T> TtlCache<T> {
        fn len(&self) -> usize {
            self.entries.read().unwrap_or_else(|p| p.into_inner()).len()
        }
    }

    async fn empty_directory(dir: &tempfile::TempDir) -> Directory {
        let url = format!("sqlite://{}", dir.path().join("directory.db").display());
        let store = snapqris_store::connect(&url, &Default::default())
            .await
            .unwrap();
        Directory::new(store)
    }

    #[tokio::test]
    async fn unknown_ids_leave_nothing_in_the_caches() {
        let dir = tempfile::tempdir().unwrap();
        let directory = empty_directory(&dir).await;
        for n in 0..1_000 {
            let client_id = ClientId::parse(&format!("nobody-{n:029}")).unwrap();
            assert!(directory.partner(&client_id).await.unwrap().is_none());
            let merchant_id = format!("M{n:014}");
            assert!(directory.merchant(&merchant_id).await.unwrap().is_none());
        }
        assert_eq!(directory.partners.len(), 0);
        assert_eq!(directory.merchants.len(), 0);
    }
}
