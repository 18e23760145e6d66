//! [`SealedStore`]: the store as callers see it, with secrets sealed at rest (CONTRACT §8).
//!
//! A decorator over any backend: partners' client secrets and the shared secrets are sealed
//! ([`crate::sealed`]) on their way in and opened on their way out; every other method is
//! forwarded unchanged. Without a master key, values go in clear as before, but a sealed value
//! is still recognised and refused, so ciphertext is never taken for a secret. Clear values
//! stored before a key was set stay readable, until [`rekey`] seals them.

use crate::StoreError;
use crate::console::{AuditEntry, ConsoleSession, LoginGate, NewAuditEntry, Operator};
use crate::model::{
    ExternalIdKey, Merchant, NewMerchant, NewPartner, NewQr, Partner, PartnerChange, Payment,
    PaymentRefusal, QrCode, SandboxPayment,
};
use crate::node::NodeIds;
use crate::outbox::{
    FinishedAttempt, LeasedNotification, NotificationBacklog, NotificationCounts,
    NotificationDetail, NotificationFilter, NotificationSummary,
};
use crate::sealed::{MasterKey, SealError, is_sealed};
use crate::store::{PoolUsage, QrStream, Store};
use crate::work::{AnyOutput, ClaimedWork, ErasedJob, ListPage};
use snapqris_protocol::{ClientId, JakartaDate};
use std::sync::Arc;
use time::OffsetDateTime;

/// A backend whose secrets are sealed under the master key, when there is one.
pub(crate) struct SealedStore {
    inner: Arc<dyn Store>,
    key: Option<MasterKey>,
}

/// What [`rekey`](crate::rekey) did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rekeyed {
    /// Clear values, now sealed under the master key.
    pub sealed: usize,
    /// Values sealed under the previous key, now sealed under the master key.
    pub resealed: usize,
    /// Values already sealed under the master key, left as they were.
    pub unchanged: usize,
}

impl SealedStore {
    /// Wraps `inner`, after checking that every sealed value in it opens under `key` (or, with
    /// no key, that there is none): a wrong or missing key fails here, at start, rather than on
    /// some later request.
    pub(crate) async fn open(
        inner: Arc<dyn Store>,
        key: Option<MasterKey>,
    ) -> Result<SealedStore, StoreError> {
        let store = SealedStore { inner, key };
        for partner in store.inner.partners().await? {
            store.open_client_secret(&partner.client_id, partner.client_secret)?;
        }
        for (name, value) in store.inner.shared_secrets().await? {
            store.open_value(&SecretName::Shared(&name), value)?;
        }
        Ok(store)
    }

    /// The stored form of a value: sealed with a key, else clear (refusing a clear value that
    /// would read back as a sealed one).
    fn seal_value(&self, name: &SecretName<'_>, clear: &[u8]) -> Result<Vec<u8>, StoreError> {
        match &self.key {
            Some(key) => Ok(key.seal(&name.label(), clear)),
            None if is_sealed(clear) => Err(StoreError::Secret(format!(
                "{name} must not begin with {:?} when no master key is set",
                String::from_utf8_lossy(crate::sealed::MARKER)
            ))),
            None => Ok(clear.to_vec()),
        }
    }

    /// The clear value of a stored one.
    fn open_value(&self, name: &SecretName<'_>, stored: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        if !is_sealed(&stored) {
            return Ok(stored);
        }
        let key = self.key.as_ref().ok_or_else(|| {
            StoreError::Secret(format!(
                "{name} is sealed and no master key was given (--master-key-file)"
            ))
        })?;
        key.open(&name.label(), &stored)
            .map_err(|why| StoreError::Secret(format!("{name}: {why}")))
    }

    fn seal_client_secret(&self, client_id: &str, clear: &str) -> Result<String, StoreError> {
        let stored = self.seal_value(&SecretName::ClientSecret(client_id), clear.as_bytes())?;
        String::from_utf8(stored).map_err(|_| StoreError::Corrupt("sealed text".into()))
    }

    fn open_client_secret(&self, client_id: &str, stored: String) -> Result<String, StoreError> {
        let name = SecretName::ClientSecret(client_id);
        let clear = self.open_value(&name, stored.into_bytes())?;
        String::from_utf8(clear).map_err(|_| StoreError::Corrupt(format!("{name} is not text")))
    }

    fn open_partner(&self, mut partner: Partner) -> Result<Partner, StoreError> {
        partner.client_secret = self.open_client_secret(
            &partner.client_id,
            std::mem::take(&mut partner.client_secret),
        )?;
        Ok(partner)
    }
}

/// Which secret a value is: its label binds a sealed value to its row.
enum SecretName<'a> {
    /// A partner's client secret.
    ClientSecret(&'a str),
    /// One of the deployment's shared secrets.
    Shared(&'a str),
}

impl SecretName<'_> {
    /// The associated data that binds the sealed value to this secret.
    fn label(&self) -> String {
        match self {
            SecretName::ClientSecret(client_id) => format!("client_secret:{client_id}"),
            SecretName::Shared(name) => format!("secret:{name}"),
        }
    }
}

impl std::fmt::Display for SecretName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretName::ClientSecret(client_id) => {
                write!(f, "the client secret of partner {client_id:?}")
            }
            SecretName::Shared(name) => write!(f, "the shared secret {name:?}"),
        }
    }
}

/// Seals every clear secret of `inner` under `key`, and re-seals under `key` what only
/// `previous` opens; values already sealed under `key` stay as they are, so a second run
/// changes nothing. A value that opens under neither key stops the run (what was done before
/// it stays done: every value written is a valid one).
pub(crate) async fn rekey(
    inner: &dyn Store,
    key: &MasterKey,
    previous: Option<&MasterKey>,
    now: OffsetDateTime,
) -> Result<Rekeyed, StoreError> {
    let mut done = Rekeyed::default();
    for partner in inner.partners().await? {
        let name = SecretName::ClientSecret(&partner.client_id);
        let stored = partner.client_secret.as_bytes();
        if let Some(clear) = needs_sealing(key, previous, &name, stored, &mut done)? {
            let sealed = String::from_utf8(key.seal(&name.label(), &clear))
                .map_err(|_| StoreError::Corrupt("sealed text".into()))?;
            if !inner
                .replace_client_secret(&partner.client_id, &partner.client_secret, &sealed, now)
                .await?
            {
                return Err(changed_while_sealing(&name));
            }
        }
    }
    for (secret, stored) in inner.shared_secrets().await? {
        let name = SecretName::Shared(&secret);
        if let Some(clear) = needs_sealing(key, previous, &name, &stored, &mut done)? {
            let sealed = key.seal(&name.label(), &clear);
            if !inner
                .replace_shared_secret(&secret, &stored, &sealed)
                .await?
            {
                return Err(changed_while_sealing(&name));
            }
        }
    }
    Ok(done)
}

/// A secret replaced (rotated) between rekey's read and its write: that value stays as it is.
fn changed_while_sealing(name: &SecretName<'_>) -> StoreError {
    StoreError::Secret(format!(
        "{name} changed while it was being sealed; run rekey again"
    ))
}

/// The clear value to seal under `key`, or `None` when `stored` is sealed under it already.
fn needs_sealing(
    key: &MasterKey,
    previous: Option<&MasterKey>,
    name: &SecretName<'_>,
    stored: &[u8],
    done: &mut Rekeyed,
) -> Result<Option<Vec<u8>>, StoreError> {
    if !is_sealed(stored) {
        done.sealed += 1;
        return Ok(Some(stored.to_vec()));
    }
    let label = name.label();
    match (key.open(&label, stored), previous) {
        (Ok(_), _) => {
            done.unchanged += 1;
            Ok(None)
        }
        (Err(SealError::DoesNotOpen), Some(previous)) => match previous.open(&label, stored) {
            Ok(clear) => {
                done.resealed += 1;
                Ok(Some(clear))
            }
            Err(why) => Err(StoreError::Secret(format!(
                "{name} opens under neither the master key nor the previous one: {why}"
            ))),
        },
        (Err(why), _) => Err(StoreError::Secret(format!("{name}: {why}"))),
    }
}

#[async_trait::async_trait]
impl Store for SealedStore {
    fn pool_usage(&self) -> Vec<PoolUsage> {
        self.inner.pool_usage()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }

    async fn shared_secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>, StoreError> {
        let secret = SecretName::Shared(name);
        let candidate = self.seal_value(&secret, candidate)?;
        let stored = self.inner.shared_secret(name, &candidate).await?;
        self.open_value(&secret, stored)
    }

    async fn shared_secrets(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let mut secrets = self.inner.shared_secrets().await?;
        for (name, value) in &mut secrets {
            *value = self.open_value(&SecretName::Shared(name), std::mem::take(value))?;
        }
        Ok(secrets)
    }

    async fn replace_shared_secret(
        &self,
        name: &str,
        current: &[u8],
        new: &[u8],
    ) -> Result<bool, StoreError> {
        // Sealing is randomised, so "still `current`" is decided on the clear value; the
        // replacement itself is conditional on the stored bytes that clear value came from.
        let secret = SecretName::Shared(name);
        for (stored_name, stored) in self.inner.shared_secrets().await? {
            if stored_name == name {
                if self.open_value(&secret, stored.clone())? != current {
                    return Ok(false);
                }
                let new = self.seal_value(&secret, new)?;
                return self.inner.replace_shared_secret(name, &stored, &new).await;
            }
        }
        Ok(false)
    }

    fn node_ids(&self) -> &NodeIds {
        self.inner.node_ids()
    }

    async fn lease_node(
        &self,
        holder: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Option<i64>, StoreError> {
        self.inner.lease_node(holder, now, until).await
    }

    async fn renew_node(
        &self,
        node: i64,
        holder: &str,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.inner.renew_node(node, holder, until).await
    }

    async fn release_node(
        &self,
        node: i64,
        holder: &str,
        until: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.inner.release_node(node, holder, until).await
    }

    async fn add_partner(
        &self,
        partner: &NewPartner,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut sealed = partner.clone();
        sealed.client_secret =
            self.seal_client_secret(partner.client_id.as_str(), &partner.client_secret)?;
        self.inner.add_partner(&sealed, now).await
    }

    async fn partner(&self, client_id: &str) -> Result<Option<Partner>, StoreError> {
        self.inner
            .partner(client_id)
            .await?
            .map(|partner| self.open_partner(partner))
            .transpose()
    }

    async fn partners(&self) -> Result<Vec<Partner>, StoreError> {
        self.inner
            .partners()
            .await?
            .into_iter()
            .map(|partner| self.open_partner(partner))
            .collect()
    }

    async fn update_partner(
        &self,
        client_id: &str,
        change: PartnerChange,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let change = match change {
            PartnerChange::ClientSecret(secret) => {
                PartnerChange::ClientSecret(self.seal_client_secret(client_id, &secret)?)
            }
            other => other,
        };
        self.inner.update_partner(client_id, change, now).await
    }

    async fn replace_client_secret(
        &self,
        client_id: &str,
        current: &str,
        new: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        // As for shared secrets: compared in clear, replaced on the stored bytes.
        let Some(partner) = self.inner.partner(client_id).await? else {
            return Ok(false);
        };
        let stored = partner.client_secret;
        if self.open_client_secret(client_id, stored.clone())? != current {
            return Ok(false);
        }
        let new = self.seal_client_secret(client_id, new)?;
        self.inner
            .replace_client_secret(client_id, &stored, &new, now)
            .await
    }

    async fn add_merchant(
        &self,
        merchant: &NewMerchant,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.inner.add_merchant(merchant, now).await
    }

    async fn merchant(&self, merchant_id: &str) -> Result<Option<Merchant>, StoreError> {
        self.inner.merchant(merchant_id).await
    }

    async fn merchants(&self, client_id: Option<&str>) -> Result<Vec<Merchant>, StoreError> {
        self.inner.merchants(client_id).await
    }

    async fn set_merchant_blacklist(
        &self,
        merchant_id: &str,
        blacklist: Option<Option<&str>>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.inner
            .set_merchant_blacklist(merchant_id, blacklist, now)
            .await
    }

    async fn run_claimed(
        &self,
        key: &ExternalIdKey,
        now: OffsetDateTime,
        job: Box<dyn ErasedJob>,
    ) -> Result<ClaimedWork<AnyOutput>, StoreError> {
        self.inner.run_claimed(key, now, job).await
    }

    async fn count_claim(
        &self,
        client_id: &ClientId,
        day: JakartaDate,
        limit: u32,
    ) -> Result<bool, StoreError> {
        self.inner.count_claim(client_id, day, limit).await
    }

    async fn release_external_id(&self, key: &ExternalIdKey) -> Result<(), StoreError> {
        self.inner.release_external_id(key).await
    }

    async fn purge_external_ids(&self, before: JakartaDate) -> Result<u64, StoreError> {
        self.inner.purge_external_ids(before).await
    }

    async fn insert_qr(&self, qr: &NewQr) -> Result<(), StoreError> {
        self.inner.insert_qr(qr).await
    }

    fn list_day(&self, merchant_id: &str, day: JakartaDate) -> QrStream {
        self.inner.list_day(merchant_id, day)
    }

    fn list_day_after(&self, merchant_id: &str, day: JakartaDate, first: ListPage) -> QrStream {
        self.inner.list_day_after(merchant_id, day, first)
    }

    async fn qr_by_id(&self, merchant_id: &str, id_qr: i64) -> Result<Option<QrCode>, StoreError> {
        self.inner.qr_by_id(merchant_id, id_qr).await
    }

    async fn qr_by_partner_reference(
        &self,
        merchant_id: &str,
        partner_reference_no: &str,
    ) -> Result<Option<QrCode>, StoreError> {
        self.inner
            .qr_by_partner_reference(merchant_id, partner_reference_no)
            .await
    }

    async fn qrs_by_ids(&self, merchant_id: &str, ids: &[i64]) -> Result<Vec<QrCode>, StoreError> {
        self.inner.qrs_by_ids(merchant_id, ids).await
    }

    async fn qr(&self, id_qr: i64) -> Result<Option<QrCode>, StoreError> {
        self.inner.qr(id_qr).await
    }

    async fn record_payment(
        &self,
        payment: SandboxPayment,
    ) -> Result<Result<Payment, PaymentRefusal>, StoreError> {
        self.inner.record_payment(payment).await
    }

    async fn lease_notifications(
        &self,
        holder: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<LeasedNotification>, StoreError> {
        self.inner
            .lease_notifications(holder, now, lease_until, limit)
            .await
    }

    async fn finish_attempt(&self, done: &FinishedAttempt) -> Result<bool, StoreError> {
        self.inner.finish_attempt(done).await
    }

    async fn finish_attempts(&self, done: &[FinishedAttempt]) -> Result<Vec<bool>, StoreError> {
        self.inner.finish_attempts(done).await
    }

    async fn notifications(
        &self,
        filter: &NotificationFilter,
    ) -> Result<Vec<NotificationSummary>, StoreError> {
        self.inner.notifications(filter).await
    }

    async fn notification(
        &self,
        notification_id: i64,
    ) -> Result<Option<NotificationDetail>, StoreError> {
        self.inner.notification(notification_id).await
    }

    async fn resend_notification(
        &self,
        notification_id: i64,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.inner.resend_notification(notification_id, now).await
    }

    async fn notification_counts(
        &self,
        client_id: Option<&str>,
    ) -> Result<NotificationCounts, StoreError> {
        self.inner.notification_counts(client_id).await
    }

    async fn notification_backlog(
        &self,
        now: OffsetDateTime,
    ) -> Result<NotificationBacklog, StoreError> {
        self.inner.notification_backlog(now).await
    }

    async fn add_operator(&self, operator: &Operator) -> Result<(), StoreError> {
        self.inner.add_operator(operator).await
    }

    async fn remove_operator(&self, name: &str) -> Result<(), StoreError> {
        self.inner.remove_operator(name).await
    }

    async fn operator(&self, name: &str) -> Result<Option<Operator>, StoreError> {
        self.inner.operator(name).await
    }

    async fn start_console_session(
        &self,
        id_hash: &str,
        operator: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.inner
            .start_console_session(id_hash, operator, now)
            .await
    }

    async fn touch_console_session(
        &self,
        id_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        self.inner.touch_console_session(id_hash, now).await
    }

    async fn end_console_session(&self, id_hash: &str) -> Result<(), StoreError> {
        self.inner.end_console_session(id_hash).await
    }

    async fn admit_login(
        &self,
        name: &str,
        address: &str,
        now: OffsetDateTime,
    ) -> Result<LoginGate, StoreError> {
        self.inner.admit_login(name, address, now).await
    }

    async fn clear_login_failures(&self, name: &str) -> Result<(), StoreError> {
        self.inner.clear_login_failures(name).await
    }

    async fn append_audit(&self, entry: &NewAuditEntry) -> Result<i64, StoreError> {
        self.inner.append_audit(entry).await
    }

    async fn audit_log(
        &self,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.inner.audit_log(limit, before).await
    }
}
