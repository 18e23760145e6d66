//! [`SqliteStore`]: reads in place on pooled connections, writes through the writer thread.

use super::Location;
use super::checkpointer::Checkpointer;
use super::claims::SharedClaims;
use super::list::{ListQuery, ListStep, list_stream};
use super::readers::{KEPT_IDLE, Readers};
use super::statements::{constraint_error, insert_qr, read_all, read_optional};
use super::writer::Writer;
use crate::ids::QrIdGenerator;
use crate::model::{
    Claim, ClaimedWork, ExpireOutcome, ExternalIdKey, Merchant, NewMerchant, NewPartner, NewQr,
    Partner, PaymentRefusal, QrCode,
};
use crate::payment::{self, PaymentUpdate};
use crate::queries as q;
use crate::rows::{
    merchant_from_row, partner_from_row, qr_from_row, require_one, services_to_text, to_ms,
};
use crate::store::{PoolUsage, QrStream, Store};
use crate::{Constraint, Entity, StoreError, StoreOptions};
use rusqlite::{OptionalExtension, params};
use snapqris_protocol::JakartaDate;
use std::sync::Arc;
use time::OffsetDateTime;

/// The SQLite store of one process.
#[derive(Debug)]
pub(crate) struct SqliteStore {
    writer: Writer,
    /// Which `X-EXTERNAL-ID`s are taken; used by the writer's jobs only.
    claims: SharedClaims,
    _checkpointer: Checkpointer,
    readers: Arc<Readers>,
    ids: QrIdGenerator,
}

impl SqliteStore {
    /// Opens the database at `location`, applies pending migrations, registers this process as
    /// a node for `id_qr` generation and starts the writer thread.
    pub(crate) async fn open(
        location: Location,
        options: &StoreOptions,
        now: OffsetDateTime,
    ) -> Result<SqliteStore, StoreError> {
        let durability = options.durability;
        let opening = location.clone();
        // Migrations may wait for another process's write lock: not on an async worker.
        let claims = SharedClaims::default();
        let loading = claims.clone();
        let (connection, node) = tokio::task::spawn_blocking(move || {
            super::retry_while_busy(|| {
                let mut connection = opening.open_writer(durability)?;
                crate::migrate::run_sqlite(&mut connection)?;
                let node: i64 =
                    connection.query_row(q::NODE_REGISTER, [to_ms(now)], |row| row.get(0))?;
                loading.lock().load(&connection)?;
                Ok((connection, node))
            })
        })
        .await
        .map_err(|e| StoreError::backend(format!("opening the database failed: {e}")))??;
        let forget = claims.clone();
        Ok(SqliteStore {
            writer: Writer::start(connection, move || forget.lock().forget_all())?,
            claims,
            _checkpointer: Checkpointer::start(&location)?,
            readers: Arc::new(Readers::new(location)),
            ids: QrIdGenerator::new(node),
        })
    }

    /// Runs one statement that sets a partner's column to `value`; `NotFound` when no partner
    /// has the id.
    async fn update_partner(
        &self,
        sql: &'static str,
        client_id: &str,
        value: impl rusqlite::ToSql + Send + 'static,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let client_id = client_id.to_owned();
        let changed = self
            .writer
            .run(move |c| {
                Ok(c.prepare_cached(sql)?
                    .execute(params![value, to_ms(now), client_id])?)
            })
            .await?;
        require_one(changed as u64, Entity::Partner)
    }

    fn qr_where(
        &self,
        sql: &'static str,
        key: impl rusqlite::Params,
    ) -> Result<Option<QrCode>, StoreError> {
        self.readers
            .with(|c| read_optional(c, sql, key, |row| qr_from_row(row)))
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    fn pool_usage(&self) -> Vec<PoolUsage> {
        let (open, idle) = self.readers.usage();
        vec![
            PoolUsage {
                name: "writer",
                open: 1,
                idle: u32::from(self.writer.queued() == 0),
                max: 1,
            },
            PoolUsage {
                name: "reader",
                open,
                idle,
                max: KEPT_IDLE as u32,
            },
        ]
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.readers
            .with(|c| Ok(c.query_row("SELECT 1", [], |row| row.get::<_, i64>(0))?))?;
        Ok(())
    }

    async fn shared_secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>, StoreError> {
        let (name, candidate) = (name.to_owned(), candidate.to_vec());
        self.writer
            .run(move |c| {
                c.execute(q::SECRET_OFFER, params![name, candidate])?;
                Ok(c.query_row(q::SECRET_GET, [&name], |row| row.get(0))?)
            })
            .await
    }

    fn next_qr_id(&self, now: OffsetDateTime) -> i64 {
        self.ids.next(now)
    }

    async fn add_partner(
        &self,
        partner: &NewPartner,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let values = (
            partner.client_id.as_str().to_owned(),
            partner.public_key_pem.clone(),
            partner.client_secret.clone(),
            partner.signature_mode.as_str(),
            services_to_text(&partner.services),
            to_ms(now),
        );
        self.writer
            .run(move |c| {
                c.execute(q::PARTNER_INSERT, values).map_err(|e| {
                    constraint_error(e, |_| Some(Constraint::ClientId), Entity::Partner)
                })
            })
            .await
            .map(drop)
    }

    async fn partner(&self, client_id: &str) -> Result<Option<Partner>, StoreError> {
        self.readers
            .with(|c| read_optional(c, q::PARTNER_GET, [client_id], |row| partner_from_row(row)))
    }

    async fn partners(&self) -> Result<Vec<Partner>, StoreError> {
        self.readers
            .with(|c| read_all(c, q::PARTNER_ALL, [], |row| partner_from_row(row)))
    }

    async fn set_partner_enabled(
        &self,
        client_id: &str,
        enabled: bool,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let value = i64::from(enabled);
        self.update_partner(q::PARTNER_SET_ENABLED, client_id, value, now)
            .await
    }

    async fn set_partner_key(
        &self,
        client_id: &str,
        public_key_pem: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let value = public_key_pem.to_owned();
        self.update_partner(q::PARTNER_SET_KEY, client_id, value, now)
            .await
    }

    async fn set_partner_secret(
        &self,
        client_id: &str,
        client_secret: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let value = client_secret.to_owned();
        self.update_partner(q::PARTNER_SET_SECRET, client_id, value, now)
            .await
    }

    async fn add_merchant(
        &self,
        merchant: &NewMerchant,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let merchant = merchant.clone();
        self.writer
            .run(move |c| {
                let values = params![
                    merchant.merchant_id.as_str(),
                    merchant.client_id.as_str(),
                    merchant.name,
                    merchant.city,
                    merchant.mcc,
                    merchant.postal_code,
                    merchant.nmid,
                    merchant.criteria,
                    to_ms(now),
                ];
                c.execute(q::MERCHANT_INSERT, values).map_err(|e| {
                    constraint_error(e, |_| Some(Constraint::MerchantId), Entity::Partner)
                })
            })
            .await
            .map(drop)
    }

    async fn merchant(&self, merchant_id: &str) -> Result<Option<Merchant>, StoreError> {
        self.readers.with(|c| {
            read_optional(c, q::MERCHANT_GET, [merchant_id], |row| {
                merchant_from_row(row)
            })
        })
    }

    async fn merchants(&self, client_id: Option<&str>) -> Result<Vec<Merchant>, StoreError> {
        self.readers.with(|c| match client_id {
            Some(client_id) => read_all(c, q::MERCHANT_OF_PARTNER, [client_id], |row| {
                merchant_from_row(row)
            }),
            None => read_all(c, q::MERCHANT_ALL, [], |row| merchant_from_row(row)),
        })
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
        let merchant_id = merchant_id.to_owned();
        let changed = self
            .writer
            .run(move |c| {
                let values = params![flag, reason, since, to_ms(now), merchant_id];
                Ok(c.execute(q::MERCHANT_SET_BLACKLIST, values)?)
            })
            .await?;
        require_one(changed as u64, Entity::Merchant)
    }

    async fn claim_external_id(
        &self,
        key: &ExternalIdKey,
        now: OffsetDateTime,
    ) -> Result<Claim, StoreError> {
        let (key, claims) = (key.clone(), self.claims.clone());
        self.writer
            .run(move |c| claims.lock().claim(c, &key, now))
            .await
    }

    async fn claim_and_insert_qr(
        &self,
        key: &ExternalIdKey,
        now: OffsetDateTime,
        qr: &NewQr,
    ) -> Result<ClaimedWork<()>, StoreError> {
        let (key, qr, claims) = (key.clone(), qr.clone(), self.claims.clone());
        self.writer
            .run(move |c| claims.claim_then(c, &key, now, |c| insert_qr(c, &qr)))
            .await
    }

    async fn claim_and_list_day(
        &self,
        key: &ExternalIdKey,
        now: OffsetDateTime,
        merchant_id: &str,
        day: JakartaDate,
    ) -> Result<ClaimedWork<QrStream>, StoreError> {
        // The first page is read by the writer, inside the claim's transaction (its cache is
        // warm; a reader's starts cold after every commit), and only answered once that
        // commits: what it saw is committed. Later pages come from the readers.
        let (key, claims) = (key.clone(), self.claims.clone());
        let query = ListQuery::new(&self.readers, merchant_id, day);
        let reading = query.clone();
        let first = self
            .writer
            .run(move |c| claims.claim_then(c, &key, now, |c| reading.first_page(c)))
            .await?;
        Ok(match first {
            ClaimedWork::AlreadyUsed => ClaimedWork::AlreadyUsed,
            ClaimedWork::Claimed(page) => {
                ClaimedWork::Claimed(page.map(|page| list_stream(query, ListStep::Have(page))))
            }
        })
    }

    async fn release_external_id(&self, key: &ExternalIdKey) -> Result<(), StoreError> {
        let (key, claims) = (key.clone(), self.claims.clone());
        self.writer
            .run(move |c| claims.lock().release(c, &key))
            .await
    }

    async fn purge_external_ids(&self, before: JakartaDate) -> Result<u64, StoreError> {
        // One batch per job: requests' claims commit between the batches.
        let mut total = 0;
        loop {
            let claims = self.claims.clone();
            let deleted = self
                .writer
                .run(move |c| claims.lock().purge_batch(c, before, q::PURGE_BATCH))
                .await?;
            total += deleted;
            if deleted < q::PURGE_BATCH as u64 {
                return Ok(total);
            }
        }
    }

    async fn insert_qr(&self, qr: &NewQr) -> Result<(), StoreError> {
        let qr = qr.clone();
        self.writer.run(move |c| insert_qr(c, &qr)).await
    }

    fn list_day(&self, merchant_id: &str, day: JakartaDate) -> QrStream {
        let query = ListQuery::new(&self.readers, merchant_id, day);
        list_stream(query, ListStep::Read(None))
    }

    async fn qr_by_id(&self, merchant_id: &str, id_qr: i64) -> Result<Option<QrCode>, StoreError> {
        self.qr_where(q::QR_BY_ID, params![merchant_id, id_qr])
    }

    async fn qr_by_partner_reference(
        &self,
        merchant_id: &str,
        partner_reference_no: &str,
    ) -> Result<Option<QrCode>, StoreError> {
        self.qr_where(q::QR_BY_REFERENCE, [merchant_id, partner_reference_no])
    }

    async fn qr(&self, id_qr: i64) -> Result<Option<QrCode>, StoreError> {
        self.readers
            .with(|c| read_optional(c, q::QR_ANY_BY_ID, [id_qr], |row| qr_from_row(row)))
    }

    async fn expire_qr(
        &self,
        merchant_id: &str,
        id_qr: i64,
        now: OffsetDateTime,
    ) -> Result<ExpireOutcome, StoreError> {
        let merchant_id = merchant_id.to_owned();
        self.writer
            .run(move |c| {
                let values = params![to_ms(now), merchant_id, id_qr];
                let updated = c.execute(q::QR_EXPIRE, values)? == 1;
                let exists = updated
                    || c.query_row(q::QR_BY_ID, params![merchant_id, id_qr], |_| Ok(()))
                        .optional()?
                        .is_some();
                Ok(ExpireOutcome::from_update(updated, exists))
            })
            .await
    }

    async fn record_payment(
        &self,
        id_qr: i64,
        amount_sen: Option<i64>,
        now: OffsetDateTime,
    ) -> Result<Result<QrCode, PaymentRefusal>, StoreError> {
        // Read, decide and update in one job: nothing else writes in between.
        self.writer
            .run(move |c| {
                let Some(qr) = read_optional(c, q::QR_ANY_BY_ID, [id_qr], |row| qr_from_row(row))?
                else {
                    return Ok(Err(PaymentRefusal::NotFound));
                };
                let changed = match payment::plan(&qr, amount_sen) {
                    Err(refusal) => return Ok(Err(refusal)),
                    Ok(PaymentUpdate::Dynamic) => {
                        c.execute(q::QR_PAY_DYNAMIC, params![to_ms(now), id_qr])?
                    }
                    Ok(PaymentUpdate::Static { amount_sen }) => {
                        c.execute(q::QR_PAY_STATIC, params![to_ms(now), amount_sen, id_qr])?
                    }
                };
                let after = read_optional(c, q::QR_ANY_BY_ID, [id_qr], |row| qr_from_row(row))?
                    .ok_or(StoreError::NotFound(Entity::Qr))?;
                Ok(payment::outcome(changed == 1, after))
            })
            .await
    }
}
