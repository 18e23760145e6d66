//! [`PostgresStore`]: the store over a PostgreSQL pool, through sqlx's native driver.
//!
//! PostgreSQL takes concurrent writers and groups commits itself, so every call runs its
//! statement on the pool; a unit of work (`jobs.rs`) runs on one connection, in one
//! transaction. The statements are this backend's own (`sql.rs`).

use super::PgContext;
use super::console;
use super::jobs::pay;
use super::list::PostgresDay;
use super::outbox;
use super::sql as q;
use crate::console::{AuditEntry, ConsoleSession, LoginGate, NewAuditEntry, Operator};
use crate::list::{ListStep, list_stream};
use crate::model::{
    ExternalIdKey, Merchant, NewMerchant, NewPartner, NewQr, Partner, PartnerChange, Payment,
    PaymentRefusal, QrCode, SandboxPayment,
};
use crate::node::NodeIds;
use crate::outbox::{
    FinishedAttempt, LeasedNotification, NotificationBacklog, NotificationCounts,
    NotificationDetail, NotificationFilter, NotificationSummary,
};
use crate::payment::NewPayment;
use crate::rows::{
    merchant_from_row, partner_from_row, qr_from_row, require_one, services_to_text, to_ms,
};
use crate::store::{PoolUsage, QrStream, Store};
use crate::work::{AnyOutput, ClaimedWork, ErasedJob, ListPage};
use crate::{Constraint, Entity, StoreError};
use snapqris_protocol::{ClientId, JakartaDate};
use sqlx::PgPool;
use std::sync::Arc;
use time::OffsetDateTime;

/// The store over one PostgreSQL pool.
#[derive(Debug)]
pub(crate) struct PostgresStore {
    pool: PgPool,
    /// The pool and the claim batcher, for units of work.
    context: PgContext,
    ids: NodeIds,
}

impl PostgresStore {
    /// Wraps a migrated pool.
    pub(crate) fn open(pool: PgPool) -> Self {
        PostgresStore {
            context: PgContext::new(pool.clone()),
            pool,
            ids: NodeIds::default(),
        }
    }

    fn day(&self, merchant_id: &str, day: JakartaDate) -> Arc<PostgresDay> {
        Arc::new(PostgresDay {
            pool: self.pool.clone(),
            merchant_id: merchant_id.to_owned(),
            day: day.date(),
        })
    }

    async fn qr_where(
        &self,
        sql: &'static str,
        merchant_id: &str,
        key: impl for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + 'static,
    ) -> Result<Option<QrCode>, StoreError> {
        let row = sqlx::query(sql)
            .bind(merchant_id.to_owned())
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(qr_from_row).transpose()
    }
}

#[async_trait::async_trait]
impl Store for PostgresStore {
    fn pool_usage(&self) -> Vec<PoolUsage> {
        vec![PoolUsage {
            name: "shared",
            open: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }]
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn shared_secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>, StoreError> {
        sqlx::query(q::SECRET_OFFER)
            .bind(name.to_owned())
            .bind(candidate.to_vec())
            .execute(&self.pool)
            .await?;
        let value: Vec<u8> = sqlx::query_scalar(q::SECRET_GET)
            .bind(name.to_owned())
            .fetch_one(&self.pool)
            .await?;
        Ok(value)
    }

    async fn shared_secrets(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Ok(sqlx::query_as(q::SECRET_ALL).fetch_all(&self.pool).await?)
    }

    async fn replace_shared_secret(
        &self,
        name: &str,
        current: &[u8],
        new: &[u8],
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(q::SECRET_REPLACE)
            .bind(new)
            .bind(name)
            .bind(current)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    fn node_ids(&self) -> &NodeIds {
        &self.ids
    }

    async fn lease_node(
        &self,
        holder: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Option<i64>, StoreError> {
        // Candidates first (one round trip), then the upsert on each decides: of two nodes
        // trying the same number, one takes it and the other's condition finds it live.
        let free: Vec<i64> = sqlx::query_scalar(q::NODE_FREE)
            .bind(to_ms(now))
            .fetch_all(&self.pool)
            .await?;
        for node in free {
            let taken = sqlx::query(q::NODE_LEASE)
                .bind(node)
                .bind(holder)
                .bind(to_ms(until))
                .bind(to_ms(now))
                .execute(&self.pool)
                .await?;
            if taken.rows_affected() == 1 {
                return Ok(Some(node));
            }
        }
        Ok(None)
    }

    async fn renew_node(
        &self,
        node: i64,
        holder: &str,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(q::NODE_RENEW)
            .bind(to_ms(until))
            .bind(node)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_node(
        &self,
        node: i64,
        holder: &str,
        until: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(q::NODE_RELEASE)
            .bind(to_ms(until))
            .bind(node)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn add_partner(
        &self,
        partner: &NewPartner,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let result = sqlx::query(q::PARTNER_INSERT)
            .bind(partner.client_id.as_str().to_owned())
            .bind(partner.public_key_pem.clone())
            .bind(partner.client_secret.clone())
            .bind(partner.signature_mode.as_str())
            .bind(services_to_text(&partner.services))
            .bind(to_ms(now))
            .execute(&self.pool)
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if StoreError::is_unique_violation(&e) => {
                Err(StoreError::Conflict(Constraint::ClientId))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn partner(&self, client_id: &str) -> Result<Option<Partner>, StoreError> {
        let row = sqlx::query(q::PARTNER_GET)
            .bind(client_id.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(partner_from_row).transpose()
    }

    async fn partners(&self) -> Result<Vec<Partner>, StoreError> {
        let rows = sqlx::query(q::PARTNER_ALL).fetch_all(&self.pool).await?;
        rows.iter().map(partner_from_row).collect()
    }

    async fn update_partner(
        &self,
        client_id: &str,
        change: PartnerChange,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let services;
        let query = match &change {
            PartnerChange::Enabled(enabled) => sqlx::query(q::PARTNER_SET_ENABLED).bind(*enabled),
            PartnerChange::PublicKey(pem) => sqlx::query(q::PARTNER_SET_KEY).bind(pem),
            PartnerChange::ClientSecret(secret) => sqlx::query(q::PARTNER_SET_SECRET).bind(secret),
            PartnerChange::Services(list) => {
                services = services_to_text(list);
                sqlx::query(q::PARTNER_SET_SERVICES).bind(&services)
            }
            PartnerChange::CallbackUrl(url) => sqlx::query(q::PARTNER_SET_CALLBACK).bind(url),
        };
        let done = query
            .bind(to_ms(now))
            .bind(client_id)
            .execute(&self.pool)
            .await?;
        require_one(done.rows_affected(), Entity::Partner)
    }

    async fn replace_client_secret(
        &self,
        client_id: &str,
        current: &str,
        new: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(q::PARTNER_REPLACE_SECRET)
            .bind(new)
            .bind(to_ms(now))
            .bind(client_id)
            .bind(current)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn add_merchant(
        &self,
        merchant: &NewMerchant,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        super::pans::insert_merchant(&self.pool, merchant, now).await
    }

    async fn merchant(&self, merchant_id: &str) -> Result<Option<Merchant>, StoreError> {
        let row = sqlx::query(q::MERCHANT_GET)
            .bind(merchant_id.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(merchant_from_row).transpose()
    }

    async fn merchants(&self, client_id: Option<&str>) -> Result<Vec<Merchant>, StoreError> {
        let query = match client_id {
            Some(client_id) => sqlx::query(q::MERCHANT_OF_PARTNER).bind(client_id.to_owned()),
            None => sqlx::query(q::MERCHANT_ALL),
        };
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(merchant_from_row).collect()
    }

    async fn set_merchant_blacklist(
        &self,
        merchant_id: &str,
        blacklist: Option<Option<&str>>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (flag, reason, since) = match blacklist {
            Some(reason) => (true, reason.map(str::to_owned), Some(to_ms(now))),
            None => (false, None, None),
        };
        let done = sqlx::query(q::MERCHANT_SET_BLACKLIST)
            .bind(flag)
            .bind(reason)
            .bind(since)
            .bind(to_ms(now))
            .bind(merchant_id.to_owned())
            .execute(&self.pool)
            .await?;
        require_one(done.rows_affected(), Entity::Merchant)
    }

    async fn run_claimed(
        &self,
        key: &ExternalIdKey,
        now: OffsetDateTime,
        job: Box<dyn ErasedJob>,
    ) -> Result<ClaimedWork<AnyOutput>, StoreError> {
        job.postgres(&self.context, key, now).await
    }

    async fn count_claim(
        &self,
        client_id: &ClientId,
        day: JakartaDate,
        limit: u32,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(q::CLAIM_COUNT)
            .bind(client_id.as_str())
            .bind(day.date())
            .bind(i64::from(limit))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_external_id(&self, key: &ExternalIdKey) -> Result<(), StoreError> {
        sqlx::query(q::CLAIM_RELEASE)
            .bind(key.client_id.as_str().to_owned())
            .bind(key.day.date())
            .bind(key.external_id.as_str().to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn purge_external_ids(&self, before: JakartaDate) -> Result<u64, StoreError> {
        sqlx::query(q::CLAIM_COUNTS_PURGE)
            .bind(before.date())
            .execute(&self.pool)
            .await?;
        let mut total = 0;
        loop {
            let done = sqlx::query(q::CLAIM_PURGE_BATCH)
                .bind(before.date())
                .bind(q::PURGE_BATCH)
                .execute(&self.pool)
                .await?;
            total += done.rows_affected();
            if done.rows_affected() < q::PURGE_BATCH as u64 {
                return Ok(total);
            }
            tokio::task::yield_now().await;
        }
    }

    async fn insert_qr(&self, qr: &NewQr) -> Result<(), StoreError> {
        let result = sqlx::query(q::QR_INSERT)
            .bind(qr.id_qr)
            .bind(qr.merchant_id.as_str().to_owned())
            .bind(qr.client_id.as_str().to_owned())
            .bind(qr.partner_reference_no.clone())
            .bind(qr.kind.as_str())
            .bind(qr.amount_sen)
            .bind(qr.terminal_id.clone())
            .bind(to_ms(qr.generated_at))
            .bind(JakartaDate::of_instant(qr.generated_at).date())
            .bind(qr.expires_at.map(to_ms))
            .bind(qr.qr_content.clone())
            .execute(&self.pool)
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(db))
                if db.is_unique_violation()
                    && db.constraint() == Some("qr_codes_partner_reference") =>
            {
                Err(StoreError::Conflict(Constraint::PartnerReferenceNo))
            }
            Err(sqlx::Error::Database(db))
                if db.is_unique_violation() && db.constraint() == Some("qr_codes_pkey") =>
            {
                Err(StoreError::Conflict(Constraint::QrId))
            }
            Err(e) if StoreError::is_foreign_key_violation(&e) => {
                Err(StoreError::NotFound(Entity::Merchant))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn list_day(&self, merchant_id: &str, day: JakartaDate) -> QrStream {
        list_stream(self.day(merchant_id, day), ListStep::Read(None))
    }

    fn list_day_after(&self, merchant_id: &str, day: JakartaDate, first: ListPage) -> QrStream {
        list_stream(self.day(merchant_id, day), ListStep::Have(first))
    }

    async fn qr_by_id(&self, merchant_id: &str, id_qr: i64) -> Result<Option<QrCode>, StoreError> {
        self.qr_where(q::QR_BY_ID, merchant_id, id_qr).await
    }

    async fn qr_by_partner_reference(
        &self,
        merchant_id: &str,
        partner_reference_no: &str,
    ) -> Result<Option<QrCode>, StoreError> {
        let reference = partner_reference_no.to_owned();
        self.qr_where(q::QR_BY_REFERENCE, merchant_id, reference)
            .await
    }

    async fn qrs_by_ids(&self, merchant_id: &str, ids: &[i64]) -> Result<Vec<QrCode>, StoreError> {
        let rows = sqlx::query(q::QR_BY_IDS)
            .bind(merchant_id.to_owned())
            .bind(ids.to_vec())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(qr_from_row).collect()
    }

    async fn qr(&self, id_qr: i64) -> Result<Option<QrCode>, StoreError> {
        let row = sqlx::query(q::QR_ANY_BY_ID)
            .bind(id_qr)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(qr_from_row).transpose()
    }

    async fn record_payment(
        &self,
        payment: SandboxPayment,
    ) -> Result<Result<Payment, PaymentRefusal>, StoreError> {
        let SandboxPayment {
            id_qr, amount_sen, ..
        } = payment;
        // Read (locking the row), decide and write in one transaction.
        let mut tx = self.pool.begin().await?;
        let qr = sqlx::query(q::QR_FOR_PAYMENT)
            .bind(id_qr)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(qr) = qr.as_ref().map(qr_from_row).transpose()? else {
            return Ok(Err(PaymentRefusal::NotFound));
        };
        let new = NewPayment::sandbox(&payment, &qr);
        let done = pay(&mut tx, &qr, amount_sen, new).await?;
        tx.commit().await?;
        Ok(done)
    }

    async fn lease_notifications(
        &self,
        holder: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<LeasedNotification>, StoreError> {
        outbox::lease(&self.pool, holder, now, lease_until, limit).await
    }

    async fn finish_attempt(&self, done: &FinishedAttempt) -> Result<bool, StoreError> {
        outbox::finish(&self.pool, done).await
    }

    async fn notifications(
        &self,
        filter: &NotificationFilter,
    ) -> Result<Vec<NotificationSummary>, StoreError> {
        outbox::list(&self.pool, filter).await
    }

    async fn notification(
        &self,
        notification_id: i64,
    ) -> Result<Option<NotificationDetail>, StoreError> {
        outbox::detail(&self.pool, notification_id).await
    }

    async fn resend_notification(
        &self,
        notification_id: i64,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        outbox::resend(&self.pool, notification_id, now).await
    }

    async fn notification_counts(
        &self,
        client_id: Option<&str>,
    ) -> Result<NotificationCounts, StoreError> {
        outbox::counts(&self.pool, client_id).await
    }

    async fn notification_backlog(
        &self,
        now: OffsetDateTime,
    ) -> Result<NotificationBacklog, StoreError> {
        outbox::backlog(&self.pool, now).await
    }

    async fn add_operator(&self, operator: &Operator) -> Result<(), StoreError> {
        console::add_operator(&self.pool, operator).await
    }

    async fn remove_operator(&self, name: &str) -> Result<(), StoreError> {
        console::remove_operator(&self.pool, name).await
    }

    async fn operator(&self, name: &str) -> Result<Option<Operator>, StoreError> {
        console::operator(&self.pool, name).await
    }

    async fn start_console_session(
        &self,
        id_hash: &str,
        operator: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        console::start_session(&self.pool, id_hash, operator, now).await
    }

    async fn touch_console_session(
        &self,
        id_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        console::touch_session(&self.pool, id_hash, now).await
    }

    async fn end_console_session(&self, id_hash: &str) -> Result<(), StoreError> {
        console::end_session(&self.pool, id_hash).await
    }

    async fn admit_login(
        &self,
        name: &str,
        address: &str,
        now: OffsetDateTime,
    ) -> Result<LoginGate, StoreError> {
        console::admit_login(&self.pool, name, address, now).await
    }

    async fn clear_login_failures(&self, name: &str) -> Result<(), StoreError> {
        console::clear_login_failures(&self.pool, name).await
    }

    async fn append_audit(&self, entry: &NewAuditEntry) -> Result<i64, StoreError> {
        console::append_audit(&self.pool, entry).await
    }

    async fn audit_log(
        &self,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        console::audit_log(&self.pool, limit, before).await
    }
}
