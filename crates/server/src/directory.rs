//! Short-lived caches of partners (with parsed keys) and merchants.
//!
//! Every transaction needs its partner and merchant; reading them from the database each time
//! would cost two queries. Entries live [`TTL`] by the server's [`Clock`], so an operator's change (`partner disable`,
//! `merchant blacklist`, a new key) reaches every node within it (CONTRACT §4: 5 seconds).
//!
//! Only records that exist are cached, never a miss (CONTRACT §8: unknown or invalid client ids
//! cost nothing lasting), and partners are looked up by a parsed [`ClientId`]. So a cache holds
//! at most one entry per stored record, each of bounded size (a key of at most 36 characters, a
//! record whose fields the store's rules bound), and [`MAX_ENTRIES`] caps the count: a bound by
//! entries is a bound by bytes here, without weighing every record.

use crate::clock::Clock;
use crate::error::ApiError;
use snapqris_protocol::{ClientId, RsaPublicKey};
use snapqris_store::{Merchant, Partner, Store};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use time::{Duration, OffsetDateTime};

/// How long a cached record is trusted; well inside the contract's 5 seconds.
pub(crate) const TTL: Duration = Duration::seconds(2);

/// Beyond this many entries a cache drops what has expired, and is cleared if that is not enough.
const MAX_ENTRIES: usize = 100_000;

/// A partner with its public key parsed once.
#[derive(Debug)]
pub(crate) struct PartnerEntry {
    pub(crate) partner: Partner,
    pub(crate) public_key: RsaPublicKey,
}

/// When a record was fetched, and the record.
type Entry<T> = (OffsetDateTime, Arc<T>);

/// Whether a record fetched `at` is still trusted `now`; one fetched "later" than now (a clock
/// set back) is not, so moving a clock either way never extends an entry's life.
fn fresh(at: OffsetDateTime, now: OffsetDateTime) -> bool {
    (Duration::ZERO..TTL).contains(&(now - at))
}

struct TtlCache<T> {
    entries: RwLock<HashMap<String, Entry<T>>>,
}

impl<T> TtlCache<T> {
    fn new() -> Self {
        TtlCache {
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The record under `key`, if fetched less than [`TTL`] before `now`.
    fn get(&self, key: &str, now: OffsetDateTime) -> Option<Arc<T>> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        match entries.get(key) {
            Some((at, value)) if fresh(*at, now) => Some(value.clone()),
            _ => None,
        }
    }

    /// Keeps `value`, a record that exists and was fetched `now`, under `key`.
    fn put(&self, key: &str, value: Arc<T>, now: OffsetDateTime) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (at, _)| fresh(*at, now));
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key.to_owned(), (now, value));
    }
}

/// Cached look-ups of partners and merchants.
pub(crate) struct Directory {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    partners: TtlCache<PartnerEntry>,
    merchants: TtlCache<Merchant>,
}

impl Directory {
    /// Look-ups in `store`, trusted for [`TTL`] by `clock`.
    pub(crate) fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Directory {
            store,
            clock,
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
        let now = self.clock.now();
        if let Some(hit) = self.partners.get(client_id, now) {
            return Ok(Some(hit));
        }
        let Some(partner) = self.store.partner(client_id).await? else {
            return Ok(None);
        };
        let public_key = RsaPublicKey::parse(partner.public_key_pem.as_bytes()).map_err(|e| {
            ApiError::internal(format!("stored key of partner {client_id} unusable"), e)
        })?;
        let entry = Arc::new(PartnerEntry {
            partner,
            public_key,
        });
        self.partners.put(client_id, entry.clone(), now);
        Ok(Some(entry))
    }

    /// The merchant with this id.
    pub(crate) async fn merchant(
        &self,
        merchant_id: &str,
    ) -> Result<Option<Arc<Merchant>>, ApiError> {
        let now = self.clock.now();
        if let Some(hit) = self.merchants.get(merchant_id, now) {
            return Ok(Some(hit));
        }
        let merchant = self.store.merchant(merchant_id).await?.map(Arc::new);
        if let Some(merchant) = &merchant {
            self.merchants.put(merchant_id, merchant.clone(), now);
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
        Directory::new(store, Arc::new(crate::clock::SystemClock))
    }

    #[tokio::test]
    async fn an_operator_change_is_seen_once_the_clock_passes_the_ttl() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("directory.db").display());
        let store = snapqris_store::connect(&url, &Default::default())
            .await
            .unwrap();
        let start = time::macros::datetime!(2026-11-25 08:00 UTC);
        let clock = Arc::new(crate::clock::ManualClock::new(start));
        let directory = Directory::new(store.clone(), clock.clone());
        let client_id = ClientId::parse("partner-a").unwrap();
        let partner = snapqris_store::NewPartner {
            client_id: client_id.clone(),
            public_key_pem: include_str!("../../../testdata/partner-public.pem").to_owned(),
            client_secret: "secret".to_owned(),
            signature_mode: snapqris_store::SignatureMode::Hmac,
            services: vec![],
        };
        store.add_partner(&partner, start).await.unwrap();
        let enabled = |entry: Option<Arc<PartnerEntry>>| entry.unwrap().partner.enabled;
        assert!(enabled(directory.partner(&client_id).await.unwrap()));

        store
            .set_partner_enabled("partner-a", false, start)
            .await
            .unwrap();
        clock.set(start + TTL - Duration::milliseconds(1));
        assert!(enabled(directory.partner(&client_id).await.unwrap()));
        clock.set(start + TTL);
        assert!(!enabled(directory.partner(&client_id).await.unwrap()));
        // CONTRACT §4: within 5 seconds on every node.
        assert!(TTL < Duration::seconds(5));
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
