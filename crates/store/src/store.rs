//! The `Store` interface that handlers and the CLI use; backends implement it.

use crate::StoreError;
use crate::model::{
    Claim, ClaimedWork, ExpireOutcome, ExternalIdKey, Merchant, NewMerchant, NewPartner, NewQr,
    Partner, PaymentRefusal, QrCode, QrSummary,
};
use futures_util::stream::BoxStream;
use snapqris_protocol::JakartaDate;
use time::OffsetDateTime;

/// A stream of Generate List items, newest first, read lazily from the database.
pub type QrStream = BoxStream<'static, Result<QrSummary, StoreError>>;

/// The state of one connection pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    /// `writer` or `reader` (`shared` when one pool does both).
    pub name: &'static str,
    /// Connections open now.
    pub open: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// The most the pool keeps open (SQLite's readers may briefly open more under load and
    /// close the extra ones afterwards).
    pub max: u32,
}

/// Everything snapqris persists. Every method that returns `Ok` after a write has committed it:
/// a crash of the process afterwards loses nothing (CONTRACT §2).
///
/// Uniqueness rules (client id, merchant id, `X-EXTERNAL-ID` per partner and day,
/// `partnerReferenceNo` per merchant, `id_qr`) are enforced by the database, so they hold for
/// any number of processes sharing it.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// How full the connection pools are, for metrics.
    fn pool_usage(&self) -> Vec<PoolUsage>;

    /// Answers `Ok` when the database answers a trivial query.
    async fn ping(&self) -> Result<(), StoreError>;

    /// The deployment-wide secret stored under `name`; `candidate` is stored first when there is
    /// none, so every node ends up with the value of whichever node asked first.
    async fn shared_secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>, StoreError>;

    /// A fresh `id_qr`, unique across all nodes and increasing over time.
    fn next_qr_id(&self, now: OffsetDateTime) -> i64;

    /// Registers a partner; [`Constraint::ClientId`](crate::Constraint) if the id is taken.
    async fn add_partner(
        &self,
        partner: &NewPartner,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// The partner with this client id.
    async fn partner(&self, client_id: &str) -> Result<Option<Partner>, StoreError>;

    /// All partners, ordered by client id.
    async fn partners(&self) -> Result<Vec<Partner>, StoreError>;

    /// Enables or disables a partner.
    async fn set_partner_enabled(
        &self,
        client_id: &str,
        enabled: bool,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Replaces a partner's public key (SPKI PEM).
    async fn set_partner_key(
        &self,
        client_id: &str,
        public_key_pem: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Replaces a partner's client secret.
    async fn set_partner_secret(
        &self,
        client_id: &str,
        client_secret: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Registers a merchant; [`Constraint::MerchantId`](crate::Constraint) if the id is taken,
    /// [`Entity::Partner`](crate::Entity) not found if the owner is unknown.
    async fn add_merchant(
        &self,
        merchant: &NewMerchant,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// The merchant with this id.
    async fn merchant(&self, merchant_id: &str) -> Result<Option<Merchant>, StoreError>;

    /// All merchants, or those of one partner, ordered by merchant id.
    async fn merchants(&self, client_id: Option<&str>) -> Result<Vec<Merchant>, StoreError>;

    /// Blacklists a merchant (`Some(reason)`, the reason itself optional) or lifts it (`None`).
    async fn set_merchant_blacklist(
        &self,
        merchant_id: &str,
        blacklist: Option<Option<&str>>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Claims an `X-EXTERNAL-ID` for its partner and day; race-free across nodes.
    async fn claim_external_id(
        &self,
        key: &ExternalIdKey,
        now: OffsetDateTime,
    ) -> Result<Claim, StoreError>;

    /// Claims `key` and, when the claim is new, stores `qr`, in one commit where the backend
    /// can (SQLite: one trip to the writer). A refused `qr` leaves the claim standing.
    async fn claim_and_insert_qr(
        &self,
        key: &ExternalIdKey,
        now: OffsetDateTime,
        qr: &NewQr,
    ) -> Result<ClaimedWork<()>, StoreError> {
        Ok(match self.claim_external_id(key, now).await? {
            Claim::AlreadyUsed => ClaimedWork::AlreadyUsed,
            Claim::Claimed => ClaimedWork::Claimed(self.insert_qr(qr).await),
        })
    }

    /// Claims `key` and, when the claim is new, lists the merchant-day as
    /// [`list_day`](Store::list_day) does; SQLite reads the first page in the claim's own trip
    /// to the writer.
    async fn claim_and_list_day(
        &self,
        key: &ExternalIdKey,
        now: OffsetDateTime,
        merchant_id: &str,
        day: JakartaDate,
    ) -> Result<ClaimedWork<QrStream>, StoreError> {
        Ok(match self.claim_external_id(key, now).await? {
            Claim::AlreadyUsed => ClaimedWork::AlreadyUsed,
            Claim::Claimed => ClaimedWork::Claimed(Ok(self.list_day(merchant_id, day))),
        })
    }

    /// Gives a claim back (the request failed on the server's side).
    async fn release_external_id(&self, key: &ExternalIdKey) -> Result<(), StoreError>;

    /// Deletes the claims of days before `day`; returns how many went.
    async fn purge_external_ids(&self, before: JakartaDate) -> Result<u64, StoreError>;

    /// Stores a generated QR; [`Constraint::PartnerReferenceNo`](crate::Constraint) if the
    /// merchant already has one with that reference.
    async fn insert_qr(&self, qr: &NewQr) -> Result<(), StoreError>;

    /// The QRs a merchant generated on a Jakarta day, newest first (ties: higher id first),
    /// streamed in bounded memory.
    fn list_day(&self, merchant_id: &str, day: JakartaDate) -> QrStream;

    /// The merchant's QR with this id.
    async fn qr_by_id(&self, merchant_id: &str, id_qr: i64) -> Result<Option<QrCode>, StoreError>;

    /// The merchant's QR with this partner reference.
    async fn qr_by_partner_reference(
        &self,
        merchant_id: &str,
        partner_reference_no: &str,
    ) -> Result<Option<QrCode>, StoreError>;

    /// The QR with this id, whoever owns it (operator commands).
    async fn qr(&self, id_qr: i64) -> Result<Option<QrCode>, StoreError>;

    /// Expires the merchant's unpaid, unexpired dynamic QR now (service 93); race-free: of two
    /// concurrent calls one expires it and the other finds it expired.
    async fn expire_qr(
        &self,
        merchant_id: &str,
        id_qr: i64,
        now: OffsetDateTime,
    ) -> Result<ExpireOutcome, StoreError>;

    /// Records a payment (sandbox simulation): a dynamic QR once, before it expires, for its own
    /// amount (`amount_sen` may be `None` or equal); a static QR any number of times, for the
    /// amount given. Returns the QR as it is afterwards.
    async fn record_payment(
        &self,
        id_qr: i64,
        amount_sen: Option<i64>,
        now: OffsetDateTime,
    ) -> Result<Result<QrCode, PaymentRefusal>, StoreError>;
}
