//! [`SqlStore`]: the one implementation of [`Store`], shared by SQLite and PostgreSQL.
//!
//! Every query is written once with `$N` placeholders (both dialects accept them) and runs
//! through sqlx's `Any` driver; what differs per backend (connection set-up, locking of
//! migrations) lives in `sqlite.rs` and `postgres.rs`.

use crate::group_commit::{Arg, GroupCommitter, bind_all};
use crate::ids::QrIdGenerator;
use crate::model::{
    Claim, ExpireOutcome, ExternalIdKey, Merchant, NewMerchant, NewPartner, NewQr, Partner,
    PaymentRefusal, QrCode, QrKind,
};
use crate::rows::{
    merchant_from_row, partner_from_row, qr_from_row, require_one, services_to_text,
    summary_from_row, to_ms,
};
use crate::store::{Backend, PoolUsage, QrStream, Store};
use crate::{Constraint, Entity, StoreError};
use futures_util::TryStreamExt;
use snapqris_protocol::JakartaDate;
use sqlx::AnyPool;
use time::OffsetDateTime;

/// The store over one or two `Any` pools.
#[derive(Debug)]
pub(crate) struct SqlStore {
    backend: Backend,
    /// Connections that write. SQLite takes one writer at a time, so there it is a pool of one
    /// (writers queue in the pool instead of spinning on the database lock).
    writer: AnyPool,
    /// Connections that only read; the same pool as `writer` on PostgreSQL.
    reader: AnyPool,
    /// SQLite's batched writer for the hot writes (claims, QR inserts); `None` on PostgreSQL,
    /// which takes concurrent writers and groups commits itself.
    committer: Option<GroupCommitter>,
    ids: QrIdGenerator,
}

impl SqlStore {
    /// Wraps migrated pools and registers this process as a node for `id_qr` generation.
    pub(crate) async fn open(
        backend: Backend,
        writer: AnyPool,
        reader: AnyPool,
        committer: Option<GroupCommitter>,
        now: OffsetDateTime,
    ) -> Result<Self, StoreError> {
        let node: i64 =
            sqlx::query_scalar("INSERT INTO nodes (started_at) VALUES ($1) RETURNING node_id")
                .bind(to_ms(now))
                .fetch_one(&writer)
                .await?;
        Ok(SqlStore {
            backend,
            writer,
            reader,
            committer,
            ids: QrIdGenerator::new(node),
        })
    }

    /// Runs a hot-path write: through the group committer on SQLite, on the pool otherwise.
    async fn write(&self, sql: &'static str, args: Vec<Arg>) -> Result<u64, sqlx::Error> {
        match &self.committer {
            Some(committer) => committer.execute(sql, args).await,
            None => bind_all(sql, args)
                .execute(&self.writer)
                .await
                .map(|done| done.rows_affected()),
        }
    }

    async fn update_partner(
        &self,
        sql: &'static str,
        client_id: &str,
        value: String,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(sql)
            .bind(value)
            .bind(to_ms(now))
            .bind(client_id.to_owned())
            .execute(&self.writer)
            .await?;
        require_one(done.rows_affected(), Entity::Partner)
    }

    async fn qr_where(
        &self,
        sql: &'static str,
        merchant_id: &str,
        key: impl for<'q> sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any> + Send + 'static,
    ) -> Result<Option<QrCode>, StoreError> {
        let row = sqlx::query(sql)
            .bind(merchant_id.to_owned())
            .bind(key)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(qr_from_row).transpose()
    }
}

#[async_trait::async_trait]
impl Store for SqlStore {
    fn backend(&self) -> Backend {
        self.backend
    }

    fn pool_usage(&self) -> Vec<PoolUsage> {
        let usage = |name, pool: &AnyPool| PoolUsage {
            name,
            open: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            max: pool.options().get_max_connections(),
        };
        match self.backend {
            Backend::Sqlite => vec![usage("writer", &self.writer), usage("reader", &self.reader)],
            Backend::Postgres => vec![usage("shared", &self.writer)],
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn shared_secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>, StoreError> {
        sqlx::query("INSERT INTO server_keys (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(name.to_owned())
            .bind(candidate.to_vec())
            .execute(&self.writer)
            .await?;
        let value: Vec<u8> = sqlx::query_scalar("SELECT value FROM server_keys WHERE name = $1")
            .bind(name.to_owned())
            .fetch_one(&self.writer)
            .await?;
        Ok(value)
    }

    fn next_qr_id(&self, now: OffsetDateTime) -> i64 {
        self.ids.next(now)
    }

    async fn add_partner(
        &self,
        partner: &NewPartner,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let result = sqlx::query(
            "INSERT INTO partners (client_id, public_key_pem, client_secret, signature_mode, \
             services, enabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $6)",
        )
        .bind(partner.client_id.as_str().to_owned())
        .bind(partner.public_key_pem.clone())
        .bind(partner.client_secret.clone())
        .bind(partner.signature_mode.as_str())
        .bind(services_to_text(&partner.services))
        .bind(to_ms(now))
        .execute(&self.writer)
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
        let row = sqlx::query("SELECT * FROM partners WHERE client_id = $1")
            .bind(client_id.to_owned())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(partner_from_row).transpose()
    }

    async fn partners(&self) -> Result<Vec<Partner>, StoreError> {
        let rows = sqlx::query("SELECT * FROM partners ORDER BY client_id")
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(partner_from_row).collect()
    }

    async fn set_partner_enabled(
        &self,
        client_id: &str,
        enabled: bool,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE partners SET enabled = $1, updated_at = $2 WHERE client_id = $3")
                .bind(i64::from(enabled))
                .bind(to_ms(now))
                .bind(client_id.to_owned())
                .execute(&self.writer)
                .await?;
        require_one(done.rows_affected(), Entity::Partner)
    }

    async fn set_partner_key(
        &self,
        client_id: &str,
        public_key_pem: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.update_partner(
            "UPDATE partners SET public_key_pem = $1, updated_at = $2 WHERE client_id = $3",
            client_id,
            public_key_pem.to_owned(),
            now,
        )
        .await
    }

    async fn set_partner_secret(
        &self,
        client_id: &str,
        client_secret: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.update_partner(
            "UPDATE partners SET client_secret = $1, updated_at = $2 WHERE client_id = $3",
            client_id,
            client_secret.to_owned(),
            now,
        )
        .await
    }

    async fn add_merchant(
        &self,
        merchant: &NewMerchant,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let result = sqlx::query(
            "INSERT INTO merchants (merchant_id, client_id, name, city, mcc, postal_code, nmid, \
             criteria, blacklisted, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $9)",
        )
        .bind(merchant.merchant_id.as_str().to_owned())
        .bind(merchant.client_id.as_str().to_owned())
        .bind(merchant.name.clone())
        .bind(merchant.city.clone())
        .bind(merchant.mcc.clone())
        .bind(merchant.postal_code.clone())
        .bind(merchant.nmid.clone())
        .bind(merchant.criteria.clone())
        .bind(to_ms(now))
        .execute(&self.writer)
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if StoreError::is_unique_violation(&e) => {
                Err(StoreError::Conflict(Constraint::MerchantId))
            }
            Err(e) if StoreError::is_foreign_key_violation(&e) => {
                Err(StoreError::NotFound(Entity::Partner))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn merchant(&self, merchant_id: &str) -> Result<Option<Merchant>, StoreError> {
        let row = sqlx::query("SELECT * FROM merchants WHERE merchant_id = $1")
            .bind(merchant_id.to_owned())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(merchant_from_row).transpose()
    }

    async fn merchants(&self, client_id: Option<&str>) -> Result<Vec<Merchant>, StoreError> {
        let rows = match client_id {
            Some(client_id) => {
                sqlx::query("SELECT * FROM merchants WHERE client_id = $1 ORDER BY merchant_id")
                    .bind(client_id.to_owned())
                    .fetch_all(&self.reader)
                    .await?
            }
            None => {
                sqlx::query("SELECT * FROM merchants ORDER BY merchant_id")
                    .fetch_all(&self.reader)
                    .await?
            }
        };
        rows.iter().map(merchant_from_row).collect()
    }

    async fn set_merchant_blacklist(
        &self,
        merchant_id: &str,
        blacklist: Option<Option<&str>>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (flag, reason, since) = match blacklist {
            Some(reason) => (1_i64, reason.map(str::to_owned), Some(to_ms(now))),
            None => (0, None, None),
        };
        let done = sqlx::query(
            "UPDATE merchants SET blacklisted = $1, blacklist_reason = $2, blacklisted_at = $3, \
             updated_at = $4 WHERE merchant_id = $5",
        )
        .bind(flag)
        .bind(reason)
        .bind(since)
        .bind(to_ms(now))
        .bind(merchant_id.to_owned())
        .execute(&self.writer)
        .await?;
        require_one(done.rows_affected(), Entity::Merchant)
    }

    async fn claim_external_id(
        &self,
        key: &ExternalIdKey,
        now: OffsetDateTime,
    ) -> Result<Claim, StoreError> {
        // zero-to-production's idempotency claim: the primary key decides, not a prior read.
        let inserted = self
            .write(
                "INSERT INTO external_ids (client_id, jakarta_date, external_id, claimed_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                vec![
                    Arg::Text(key.client_id.as_str().to_owned()),
                    Arg::Text(key.day.to_string()),
                    Arg::Text(key.external_id.as_str().to_owned()),
                    Arg::Int(to_ms(now)),
                ],
            )
            .await?;
        Ok(if inserted == 1 {
            Claim::Claimed
        } else {
            Claim::AlreadyUsed
        })
    }

    async fn release_external_id(&self, key: &ExternalIdKey) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM external_ids WHERE client_id = $1 AND jakarta_date = $2 AND external_id = $3",
        )
        .bind(key.client_id.as_str().to_owned())
        .bind(key.day.to_string())
        .bind(key.external_id.as_str().to_owned())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn purge_external_ids(&self, before: JakartaDate) -> Result<u64, StoreError> {
        // In batches: one huge DELETE would hold SQLite's single writer (and a PostgreSQL lock)
        // long enough to stall requests that claim ids meanwhile.
        const BATCH: i64 = 1000;
        let mut total = 0;
        loop {
            let done = sqlx::query(
                "DELETE FROM external_ids WHERE (client_id, jakarta_date, external_id) IN \
                 (SELECT client_id, jakarta_date, external_id FROM external_ids \
                  WHERE jakarta_date < $1 LIMIT $2)",
            )
            .bind(before.to_string())
            .bind(BATCH)
            .execute(&self.writer)
            .await?;
            total += done.rows_affected();
            if done.rows_affected() < BATCH as u64 {
                return Ok(total);
            }
            tokio::task::yield_now().await;
        }
    }

    async fn insert_qr(&self, qr: &NewQr) -> Result<(), StoreError> {
        let result = self
            .write(
                "INSERT INTO qr_codes (id_qr, merchant_id, client_id, partner_reference_no, \
                 kind, amount_sen, terminal_id, generated_at, jakarta_date, expires_at, \
                 qr_content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                vec![
                    Arg::Int(qr.id_qr),
                    Arg::Text(qr.merchant_id.as_str().to_owned()),
                    Arg::Text(qr.client_id.as_str().to_owned()),
                    Arg::Text(qr.partner_reference_no.clone()),
                    Arg::Text(qr.kind.as_str().to_owned()),
                    Arg::OptInt(qr.amount_sen),
                    Arg::OptText(qr.terminal_id.clone()),
                    Arg::Int(to_ms(qr.generated_at)),
                    Arg::Text(JakartaDate::of_instant(qr.generated_at).to_string()),
                    Arg::OptInt(qr.expires_at.map(to_ms)),
                    Arg::Text(qr.qr_content.clone()),
                ],
            )
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(db))
                if db.is_unique_violation()
                    && (db.constraint() == Some("qr_codes_partner_reference")
                        || db.message().contains("partner_reference_no")) =>
            {
                Err(StoreError::Conflict(Constraint::PartnerReferenceNo))
            }
            Err(e) if StoreError::is_foreign_key_violation(&e) => {
                Err(StoreError::NotFound(Entity::Merchant))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn list_day(&self, merchant_id: &str, day: JakartaDate) -> QrStream {
        let pool = self.reader.clone();
        let merchant_id = merchant_id.to_owned();
        let day = day.to_string();
        // A bounded channel between the query and the HTTP body: however many rows the day
        // holds, at most this many sit in memory while the client reads.
        let (sender, receiver) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            let mut rows = sqlx::query(
                "SELECT id_qr, kind, generated_at, expires_at, amount_sen FROM qr_codes \
                 WHERE merchant_id = $1 AND jakarta_date = $2 \
                 ORDER BY generated_at DESC, id_qr DESC",
            )
            .bind(merchant_id)
            .bind(day)
            .fetch(&pool);
            loop {
                let item = match rows.try_next().await {
                    Ok(Some(row)) => summary_from_row(&row),
                    Ok(None) => break,
                    Err(e) => Err(e.into()),
                };
                let failed = item.is_err();
                if sender.send(item).await.is_err() || failed {
                    break;
                }
            }
        });
        Box::pin(futures_util::stream::unfold(
            receiver,
            |mut receiver| async move { receiver.recv().await.map(|item| (item, receiver)) },
        ))
    }

    async fn qr_by_id(&self, merchant_id: &str, id_qr: i64) -> Result<Option<QrCode>, StoreError> {
        self.qr_where(
            "SELECT * FROM qr_codes WHERE merchant_id = $1 AND id_qr = $2",
            merchant_id,
            id_qr,
        )
        .await
    }

    async fn qr_by_partner_reference(
        &self,
        merchant_id: &str,
        partner_reference_no: &str,
    ) -> Result<Option<QrCode>, StoreError> {
        self.qr_where(
            "SELECT * FROM qr_codes WHERE merchant_id = $1 AND partner_reference_no = $2",
            merchant_id,
            partner_reference_no.to_owned(),
        )
        .await
    }

    async fn qr(&self, id_qr: i64) -> Result<Option<QrCode>, StoreError> {
        let row = sqlx::query("SELECT * FROM qr_codes WHERE id_qr = $1")
            .bind(id_qr)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(qr_from_row).transpose()
    }

    async fn expire_qr(
        &self,
        merchant_id: &str,
        id_qr: i64,
        now: OffsetDateTime,
    ) -> Result<ExpireOutcome, StoreError> {
        // The conditions live in the UPDATE, so two racing expiries cannot both succeed.
        let done = sqlx::query(
            "UPDATE qr_codes SET expires_at = $1, cancelled_at = $1 \
             WHERE merchant_id = $2 AND id_qr = $3 AND kind = 'dynamic' AND payment_count = 0 \
             AND cancelled_at IS NULL AND expires_at > $1",
        )
        .bind(to_ms(now))
        .bind(merchant_id.to_owned())
        .bind(id_qr)
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 1 {
            return Ok(ExpireOutcome::Expired);
        }
        Ok(match self.qr_by_id(merchant_id, id_qr).await? {
            Some(_) => ExpireOutcome::InvalidStatus,
            None => ExpireOutcome::NotFound,
        })
    }

    async fn record_payment(
        &self,
        id_qr: i64,
        amount_sen: Option<i64>,
        now: OffsetDateTime,
    ) -> Result<Result<QrCode, PaymentRefusal>, StoreError> {
        let Some(qr) = self.qr(id_qr).await? else {
            return Ok(Err(PaymentRefusal::NotFound));
        };
        let done = match qr.kind {
            QrKind::Dynamic => {
                if amount_sen.is_some_and(|amount| Some(amount) != qr.amount_sen) {
                    return Ok(Err(PaymentRefusal::AmountMismatch));
                }
                sqlx::query(
                    "UPDATE qr_codes SET paid_at = $1, paid_amount_sen = amount_sen, \
                     payment_count = payment_count + 1 \
                     WHERE id_qr = $2 AND payment_count = 0 AND cancelled_at IS NULL \
                     AND expires_at > $1",
                )
                .bind(to_ms(now))
                .bind(id_qr)
                .execute(&self.writer)
                .await?
            }
            QrKind::Static => {
                let Some(amount) = amount_sen else {
                    return Ok(Err(PaymentRefusal::AmountRequired));
                };
                sqlx::query(
                    "UPDATE qr_codes SET paid_at = $1, paid_amount_sen = $2, \
                     payment_count = payment_count + 1 WHERE id_qr = $3",
                )
                .bind(to_ms(now))
                .bind(amount)
                .bind(id_qr)
                .execute(&self.writer)
                .await?
            }
        };
        let after = self
            .qr(id_qr)
            .await?
            .ok_or(StoreError::NotFound(Entity::Qr))?;
        if done.rows_affected() == 1 {
            return Ok(Ok(after));
        }
        Ok(Err(if after.payment_count > 0 {
            PaymentRefusal::AlreadyPaid
        } else {
            PaymentRefusal::Expired
        }))
    }
}
