//! The `Store` interface that handlers and the CLI use; backends implement it.

use crate::StoreError;
use crate::console::{AuditEntry, ConsoleSession, LoginGate, NewAuditEntry, Operator};
use crate::model::{
    Claim, ExternalIdKey, Merchant, NewMerchant, NewPartner, NewQr, Partner, PartnerChange,
    Payment, PaymentRefusal, QrCode, QrSummary, SandboxPayment,
};
use crate::node::NodeIds;
use crate::outbox::{
    FinishedAttempt, LeasedNotification, NotificationBacklog, NotificationCounts,
    NotificationDetail, NotificationFilter, NotificationSummary,
};
use crate::work::{AnyOutput, ClaimedWork, ErasedJob, Job, ListPage, NoWork, unerase};
use futures_util::stream::BoxStream;
use snapqris_protocol::{ClientId, JakartaDate};
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
/// Uniqueness rules (client id, merchant id, a merchant's PAN account number, `X-EXTERNAL-ID`
/// per partner and day, `partnerReferenceNo` per merchant, `id_qr`) are enforced by the
/// database, so they hold for any number of processes sharing it.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// How full the connection pools are, for metrics.
    fn pool_usage(&self) -> Vec<PoolUsage>;

    /// Answers `Ok` when the database answers a trivial query.
    async fn ping(&self) -> Result<(), StoreError>;

    /// The deployment-wide secret stored under `name`; `candidate` is stored first when there is
    /// none, so every node ends up with the value of whichever node asked first.
    async fn shared_secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>, StoreError>;

    /// Every deployment-wide secret, name and value, ordered by name (`admin rekey`).
    async fn shared_secrets(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError>;

    /// Replaces the value of secret `name` with `new` if it is still `current`; whether it did
    /// (`false` also when there is no such secret).
    async fn replace_shared_secret(
        &self,
        name: &str,
        current: &[u8],
        new: &[u8],
    ) -> Result<bool, StoreError>;

    /// A fresh `id_qr`, unique across all nodes and increasing over time; an error unless
    /// this process holds a node lease ([`lease_node`](crate::lease_node), `node.rs`).
    fn next_qr_id(&self, now: OffsetDateTime) -> Result<i64, StoreError> {
        self.node_ids().next(now)
    }

    /// The id generator of this process's node lease.
    #[doc(hidden)]
    fn node_ids(&self) -> &NodeIds;

    /// Leases the lowest node number free at `now` to `holder` until `until`; `None` when all
    /// are held by live leases.
    #[doc(hidden)]
    async fn lease_node(
        &self,
        holder: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Option<i64>, StoreError>;

    /// Extends `holder`'s lease of `node` to `until`; `false` when the lease was lost.
    #[doc(hidden)]
    async fn renew_node(
        &self,
        node: i64,
        holder: &str,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Ends `holder`'s lease of `node`, keeping the number from everyone until just after
    /// `until` (the millisecond of the last id made with it).
    #[doc(hidden)]
    async fn release_node(
        &self,
        node: i64,
        holder: &str,
        until: OffsetDateTime,
    ) -> Result<(), StoreError>;

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

    /// Changes one thing about a partner (`admin partner disable|enable|set-key|rotate-secret`);
    /// [`Entity::Partner`](crate::Entity) not found if no partner has the id.
    async fn update_partner(
        &self,
        client_id: &str,
        change: PartnerChange,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Replaces a partner's client secret with `new` if it is still `current`; whether it did
    /// (`false` also when there is no such partner). `admin rekey` uses it so that a
    /// `rotate-secret` made while it runs is never overwritten.
    async fn replace_client_secret(
        &self,
        client_id: &str,
        current: &str,
        new: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Registers a merchant with the next free PAN account number
    /// ([`Merchant::pan_account`](crate::Merchant)); [`Constraint::MerchantId`](crate::Constraint)
    /// if the id is taken, [`Entity::Partner`](crate::Entity) not found if the owner is unknown.
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

    /// `claim_then` for any job, its output erased (the trait stays
    /// usable as `dyn Store`; call `claim_then`).
    #[doc(hidden)]
    async fn run_claimed(
        &self,
        key: &ExternalIdKey,
        now: OffsetDateTime,
        job: Box<dyn ErasedJob>,
    ) -> Result<ClaimedWork<AnyOutput>, StoreError>;

    /// Counts one `X-EXTERNAL-ID` claim of `client_id` on `day` unless it made `limit` already
    /// that day (`daily-claim-limit`); whether it was counted. Race-free across nodes.
    async fn count_claim(
        &self,
        client_id: &ClientId,
        day: JakartaDate,
        limit: u32,
    ) -> Result<bool, StoreError>;

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

    /// [`list_day`](Store::list_day) going on from a first page read already (by
    /// [`FirstListPage`](crate::FirstListPage)): its items, then the pages after it.
    fn list_day_after(&self, merchant_id: &str, day: JakartaDate, first: ListPage) -> QrStream;

    /// The merchant's QR with this id.
    async fn qr_by_id(&self, merchant_id: &str, id_qr: i64) -> Result<Option<QrCode>, StoreError>;

    /// The merchant's QR with this partner reference.
    async fn qr_by_partner_reference(
        &self,
        merchant_id: &str,
        partner_reference_no: &str,
    ) -> Result<Option<QrCode>, StoreError>;

    /// The merchant's QRs among `ids` (a console page of a day), in no particular order; ids
    /// it does not have are left out.
    async fn qrs_by_ids(&self, merchant_id: &str, ids: &[i64]) -> Result<Vec<QrCode>, StoreError>;

    /// The QR with this id, whoever owns it (operator commands).
    async fn qr(&self, id_qr: i64) -> Result<Option<QrCode>, StoreError>;

    /// Records a payment (sandbox simulation, `admin qr pay`) under the rules of service 50: a
    /// dynamic QR once, before it expires, for its own amount (`amount_sen` may be `None` or
    /// equal); a static QR any number of times, for the amount given. The payment, numbered
    /// `payment_id`, is the QR's own partner's under the reference `admin-<payment_id>`.
    async fn record_payment(
        &self,
        payment: SandboxPayment,
    ) -> Result<Result<Payment, PaymentRefusal>, StoreError>;

    /// Leases up to `limit` due notifications to `holder` until `lease_until`, oldest due
    /// first: pending, due by `now`, their partner enabled with a callback URL, no live lease,
    /// and no earlier notification of the same payment still pending (order per payment,
    /// CONTRACT §6.2). Race-free across nodes: a notification is leased to one holder at a time.
    async fn lease_notifications(
        &self,
        holder: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<LeasedNotification>, StoreError>;

    /// Records an attempt and what it leads to, in one transaction, only while `done.holder`
    /// still holds the lease (`false`: the lease was lost and nothing was written).
    async fn finish_attempt(&self, done: &FinishedAttempt) -> Result<bool, StoreError>;

    /// [`finish_attempt`](Store::finish_attempt) for each of `done`, in order; a store may
    /// record them in one transaction (SQLite: one writer job instead of one per attempt).
    async fn finish_attempts(&self, done: &[FinishedAttempt]) -> Result<Vec<bool>, StoreError> {
        let mut recorded = Vec::with_capacity(done.len());
        for attempt in done {
            recorded.push(self.finish_attempt(attempt).await?);
        }
        Ok(recorded)
    }

    /// Notifications, newest first, as `filter` selects them.
    async fn notifications(
        &self,
        filter: &NotificationFilter,
    ) -> Result<Vec<NotificationSummary>, StoreError>;

    /// One notification with its body and attempts.
    async fn notification(
        &self,
        notification_id: i64,
    ) -> Result<Option<NotificationDetail>, StoreError>;

    /// Queues a delivered or failed notification again, due at `now`, its retry schedule
    /// started afresh (a pending or held one is left as it is);
    /// [`Entity::Notification`](crate::Entity) not found when there is none.
    async fn resend_notification(
        &self,
        notification_id: i64,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// How many notifications, of one partner or all, are in each state.
    async fn notification_counts(
        &self,
        client_id: Option<&str>,
    ) -> Result<NotificationCounts, StoreError>;

    /// How many notifications are pending and held, over all partners, and how long the oldest
    /// one that could go out at `now` has been due: a pass over the pending rows only (an index
    /// of them), cheap enough for a gauge however many were delivered.
    async fn notification_backlog(
        &self,
        now: OffsetDateTime,
    ) -> Result<NotificationBacklog, StoreError>;

    /// Adds a console operator; [`Constraint::OperatorName`](crate::Constraint) if the name is
    /// taken.
    async fn add_operator(&self, operator: &Operator) -> Result<(), StoreError>;

    /// Removes an operator, its sessions with it; [`Entity::Operator`](crate::Entity) not found
    /// if there is none of that name.
    async fn remove_operator(&self, name: &str) -> Result<(), StoreError>;

    /// The operator of this name.
    async fn operator(&self, name: &str) -> Result<Option<Operator>, StoreError>;

    /// Starts a console session of `operator`, known by the hash of its id (sessions ended by
    /// then are deleted); [`Entity::Operator`](crate::Entity) not found if it was removed.
    async fn start_console_session(
        &self,
        id_hash: &str,
        operator: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// The session with this id hash, its last request moved to `now`; `None` (and the row
    /// deleted) when there is none or it ended ([`SESSION_IDLE`](crate::SESSION_IDLE),
    /// [`SESSION_LIFETIME`](crate::SESSION_LIFETIME)).
    async fn touch_console_session(
        &self,
        id_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<ConsoleSession>, StoreError>;

    /// Ends a session (logout); nothing happens when there is none.
    async fn end_console_session(&self, id_hash: &str) -> Result<(), StoreError>;

    /// Decides whether a login of `name` from `address` may check its password, from the
    /// wrong tries of the last [`LOGIN_WINDOW`](crate::LOGIN_WINDOW); an admitted attempt is
    /// counted as wrong at once (so concurrent guesses cannot pass the limit), until
    /// [`clear_login_failures`](Store::clear_login_failures).
    async fn admit_login(
        &self,
        name: &str,
        address: &str,
        now: OffsetDateTime,
    ) -> Result<LoginGate, StoreError>;

    /// Forgets the wrong tries of `name` (its password was right).
    async fn clear_login_failures(&self, name: &str) -> Result<(), StoreError>;

    /// Records an operator's action; returns the entry's id.
    async fn append_audit(&self, entry: &NewAuditEntry) -> Result<i64, StoreError>;

    /// Audit entries, newest first: at most `limit`, with ids below `before` when given.
    async fn audit_log(
        &self,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}

impl dyn Store {
    /// Enables or disables a partner.
    pub async fn set_partner_enabled(
        &self,
        client_id: &str,
        enabled: bool,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.update_partner(client_id, PartnerChange::Enabled(enabled), now)
            .await
    }

    /// Replaces a partner's public key (SPKI PEM).
    pub async fn set_partner_key(
        &self,
        client_id: &str,
        public_key_pem: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let change = PartnerChange::PublicKey(public_key_pem.to_owned());
        self.update_partner(client_id, change, now).await
    }

    /// Replaces a partner's client secret.
    pub async fn set_partner_secret(
        &self,
        client_id: &str,
        client_secret: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let change = PartnerChange::ClientSecret(client_secret.to_owned());
        self.update_partner(client_id, change, now).await
    }

    /// Claims `key` (an `X-EXTERNAL-ID` for its partner and day; race-free across nodes) and,
    /// only when the claim is new, runs `job` in the claim's own transaction: both commit or
    /// neither does (`work.rs`). A failed job has its writes undone; the claim stands.
    pub async fn claim_then<J: Job>(
        &self,
        key: &ExternalIdKey,
        now: OffsetDateTime,
        job: J,
    ) -> Result<ClaimedWork<J::Output>, StoreError> {
        Ok(unerase(self.run_claimed(key, now, Box::new(job)).await?))
    }

    /// Claims an `X-EXTERNAL-ID` for its partner and day, with no other work.
    pub async fn claim_external_id(
        &self,
        key: &ExternalIdKey,
        now: OffsetDateTime,
    ) -> Result<Claim, StoreError> {
        Ok(match self.claim_then(key, now, NoWork).await? {
            ClaimedWork::AlreadyUsed => Claim::AlreadyUsed,
            ClaimedWork::Claimed(outcome) => outcome.map(|()| Claim::Claimed)?,
        })
    }
}
