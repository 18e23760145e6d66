//! [`SqliteStore`]: reads in place on pooled connections, writes through the writer thread.

use super::Location;
use super::checkpointer::Checkpointer;
use super::claims::ClaimIndex;
use super::console;
use super::jobs::pay;
use super::list::SqliteDay;
use super::outbox;
use super::readers::{KEPT_IDLE, Readers};
use super::sql as q;
use super::statements::{constraint_error, insert_qr, read_all, read_optional};
use super::writer::{Writer, WriterState};
use crate::console::{AuditEntry, ConsoleSession, LoginGate, NewAuditEntry, Operator};
use crate::list::{ListStep, list_stream};
use crate::model::{
    Claim, ExternalIdKey, Merchant, NewMerchant, NewPartner, NewQr, Partner, PartnerChange,
    Payment, PaymentRefusal, QrCode, SandboxPayment,
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
use crate::{Constraint, Entity, StoreError, StoreOptions};
use rusqlite::{Connection, params};
use snapqris_protocol::{ClientId, JakartaDate};
use std::sync::Arc;
use time::OffsetDateTime;

/// The SQLite store of one process.
#[derive(Debug)]
pub(crate) struct SqliteStore {
    writer: Writer,
    _checkpointer: Checkpointer,
    readers: Arc<Readers>,
    ids: NodeIds,
}

impl SqliteStore {
    /// Opens the database at `location`, applies pending migrations and starts the writer
    /// thread.
    pub(crate) async fn open(
        location: Location,
        options: &StoreOptions,
    ) -> Result<SqliteStore, StoreError> {
        let durability = options.durability;
        let opening = location.clone();
        // Migrations may wait for another process's write lock: not on an async worker.
        let state = tokio::task::spawn_blocking(move || {
            super::retry_while_busy(|| {
                let mut connection = opening.open_writer(durability)?;
                crate::migrate::run_sqlite(&mut connection)?;
                let mut claims = ClaimIndex::default();
                claims.load(&connection)?;
                Ok(WriterState { connection, claims })
            })
        })
        .await
        .map_err(|e| StoreError::backend(format!("opening the database failed: {e}")))??;
        Ok(SqliteStore {
            writer: Writer::start(state)?,
            _checkpointer: Checkpointer::start(&location)?,
            readers: Arc::new(Readers::new(location)),
            ids: NodeIds::default(),
        })
    }

    fn day(&self, merchant_id: &str, day: JakartaDate) -> Arc<SqliteDay> {
        Arc::new(SqliteDay {
            readers: self.readers.clone(),
            merchant_id: merchant_id.to_owned(),
            day: day.to_string(),
        })
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
            .run(move |w| {
                let c = &w.connection;
                c.execute(q::SECRET_OFFER, params![name, candidate])?;
                Ok(c.query_row(q::SECRET_GET, [&name], |row| row.get(0))?)
            })
            .await
    }

    async fn shared_secrets(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.readers.with(|c| {
            read_all(c, q::SECRET_ALL, [], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, Vec<u8>>(1)?))
            })
        })
    }

    async fn replace_shared_secret(
        &self,
        name: &str,
        current: &[u8],
        new: &[u8],
    ) -> Result<bool, StoreError> {
        let values = (new.to_vec(), name.to_owned(), current.to_vec());
        let changed = self
            .writer
            .run(move |w| {
                Ok(w.connection
                    .prepare_cached(q::SECRET_REPLACE)?
                    .execute(values)?)
            })
            .await?;
        Ok(changed == 1)
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
        let holder = holder.to_owned();
        // One writer job: nobody else's lease can change between the tries.
        self.writer
            .run(move |w| {
                let mut lease = w.connection.prepare_cached(q::NODE_LEASE)?;
                for node in 0..crate::ids::NODES {
                    if lease.execute(params![node, holder, to_ms(until), to_ms(now)])? == 1 {
                        return Ok(Some(node));
                    }
                }
                Ok(None)
            })
            .await
    }

    async fn renew_node(
        &self,
        node: i64,
        holder: &str,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let holder = holder.to_owned();
        self.writer
            .run(move |w| {
                let values = params![to_ms(until), node, holder];
                Ok(w.connection
                    .prepare_cached(q::NODE_RENEW)?
                    .execute(values)?
                    == 1)
            })
            .await
    }

    async fn release_node(
        &self,
        node: i64,
        holder: &str,
        until: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let holder = holder.to_owned();
        self.writer
            .run(move |w| {
                let values = params![to_ms(until), node, holder];
                Ok(w.connection
                    .prepare_cached(q::NODE_RELEASE)?
                    .execute(values)
                    .map(drop)?)
            })
            .await
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
            .run(move |w| {
                w.connection
                    .execute(q::PARTNER_INSERT, values)
                    .map_err(|e| {
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

    async fn update_partner(
        &self,
        client_id: &str,
        change: PartnerChange,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (sql, value): (_, rusqlite::types::Value) = match change {
            PartnerChange::Enabled(enabled) => (q::PARTNER_SET_ENABLED, i64::from(enabled).into()),
            PartnerChange::PublicKey(pem) => (q::PARTNER_SET_KEY, pem.into()),
            PartnerChange::ClientSecret(secret) => (q::PARTNER_SET_SECRET, secret.into()),
            PartnerChange::Services(services) => {
                (q::PARTNER_SET_SERVICES, services_to_text(&services).into())
            }
            PartnerChange::CallbackUrl(url) => (
                q::PARTNER_SET_CALLBACK,
                url.map_or(rusqlite::types::Value::Null, Into::into),
            ),
        };
        let client_id = client_id.to_owned();
        let changed = self
            .writer
            .run(move |w| {
                let values = params![value, to_ms(now), client_id];
                Ok(w.connection.prepare_cached(sql)?.execute(values)?)
            })
            .await?;
        require_one(changed as u64, Entity::Partner)
    }

    async fn replace_client_secret(
        &self,
        client_id: &str,
        current: &str,
        new: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let values = (
            new.to_owned(),
            to_ms(now),
            client_id.to_owned(),
            current.to_owned(),
        );
        let changed = self
            .writer
            .run(move |w| {
                Ok(w.connection
                    .prepare_cached(q::PARTNER_REPLACE_SECRET)?
                    .execute(values)?)
            })
            .await?;
        Ok(changed == 1)
    }

    async fn add_merchant(
        &self,
        merchant: &NewMerchant,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let merchant = merchant.clone();
        self.writer
            .run(move |w| super::pans::insert_merchant(&w.connection, &merchant, now))
            .await
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
            .run(move |w| {
                let values = params![flag, reason, since, to_ms(now), merchant_id];
                Ok(w.connection.execute(q::MERCHANT_SET_BLACKLIST, values)?)
            })
            .await?;
        require_one(changed as u64, Entity::Merchant)
    }

    async fn run_claimed(
        &self,
        key: &ExternalIdKey,
        now: OffsetDateTime,
        job: Box<dyn ErasedJob>,
    ) -> Result<ClaimedWork<AnyOutput>, StoreError> {
        let key = key.clone();
        self.writer
            .run(move |w| match w.claims.claim(&w.connection, &key, now)? {
                Claim::AlreadyUsed => Ok(ClaimedWork::AlreadyUsed),
                Claim::Claimed => match in_savepoint(&w.connection, |c| job.sqlite(c)) {
                    Ok(done) => Ok(ClaimedWork::Claimed(done)),
                    Err(e) => {
                        // The writer undoes this whole job, the claim's row included: the
                        // index must not keep the claim.
                        w.claims.forget_all();
                        Err(e)
                    }
                },
            })
            .await
    }

    async fn count_claim(
        &self,
        client_id: &ClientId,
        day: JakartaDate,
        limit: u32,
    ) -> Result<bool, StoreError> {
        let values = (client_id.as_str().to_owned(), day.to_string(), limit);
        self.writer
            .run(move |w| {
                Ok(w.connection
                    .prepare_cached(q::CLAIM_COUNT)?
                    .execute(values)?
                    == 1)
            })
            .await
    }

    async fn release_external_id(&self, key: &ExternalIdKey) -> Result<(), StoreError> {
        let key = key.clone();
        self.writer
            .run(move |w| w.claims.release(&w.connection, &key))
            .await
    }

    async fn purge_external_ids(&self, before: JakartaDate) -> Result<u64, StoreError> {
        // One batch per job: requests' claims commit between the batches.
        let mut total = 0;
        loop {
            let deleted = self
                .writer
                .run(move |w| {
                    let c = &w.connection;
                    c.prepare_cached(q::CLAIM_COUNTS_PURGE)?
                        .execute([before.to_string()])?;
                    w.claims.purge_batch(c, before, q::PURGE_BATCH)
                })
                .await?;
            total += deleted;
            if deleted < q::PURGE_BATCH as u64 {
                return Ok(total);
            }
        }
    }

    async fn insert_qr(&self, qr: &NewQr) -> Result<(), StoreError> {
        let qr = qr.clone();
        self.writer
            .run(move |w| insert_qr(&w.connection, &qr))
            .await
    }

    fn list_day(&self, merchant_id: &str, day: JakartaDate) -> QrStream {
        list_stream(self.day(merchant_id, day), ListStep::Read(None))
    }

    fn list_day_after(&self, merchant_id: &str, day: JakartaDate, first: ListPage) -> QrStream {
        list_stream(self.day(merchant_id, day), ListStep::Have(first))
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

    async fn qrs_by_ids(&self, merchant_id: &str, ids: &[i64]) -> Result<Vec<QrCode>, StoreError> {
        // In-process lookups by key on one connection: as fast as one `IN (…)` statement.
        self.readers.with(|c| {
            let mut found = Vec::with_capacity(ids.len());
            for &id_qr in ids {
                let key = params![merchant_id, id_qr];
                found.extend(read_optional(c, q::QR_BY_ID, key, |row| qr_from_row(row))?);
            }
            Ok(found)
        })
    }

    async fn qr(&self, id_qr: i64) -> Result<Option<QrCode>, StoreError> {
        self.readers
            .with(|c| read_optional(c, q::QR_ANY_BY_ID, [id_qr], |row| qr_from_row(row)))
    }

    async fn record_payment(
        &self,
        payment: SandboxPayment,
    ) -> Result<Result<Payment, PaymentRefusal>, StoreError> {
        let SandboxPayment {
            id_qr, amount_sen, ..
        } = payment;
        // Read, decide and write in one job: nothing else writes in between.
        self.writer
            .run(move |w| {
                let c = &w.connection;
                let Some(qr) = read_optional(c, q::QR_ANY_BY_ID, [id_qr], |row| qr_from_row(row))?
                else {
                    return Ok(Err(PaymentRefusal::NotFound));
                };
                let new = NewPayment::sandbox(&payment, &qr);
                pay(c, &qr, amount_sen, new)
            })
            .await
    }

    async fn lease_notifications(
        &self,
        holder: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<LeasedNotification>, StoreError> {
        // Read on a reader, stamp on the writer: the writer (payments' commits) only pays for
        // the rows leased.
        let due = self.readers.with(|c| outbox::due(c, now, limit))?;
        if due.is_empty() {
            return Ok(due);
        }
        let holder = holder.to_owned();
        self.writer
            .run(move |w| outbox::stamp(&w.connection, &holder, now, lease_until, due))
            .await
    }

    async fn finish_attempt(&self, done: &FinishedAttempt) -> Result<bool, StoreError> {
        let done = done.clone();
        self.writer
            .run(move |w| outbox::finish(&w.connection, &done))
            .await
    }

    async fn finish_attempts(&self, done: &[FinishedAttempt]) -> Result<Vec<bool>, StoreError> {
        let done = done.to_vec();
        self.writer
            .run(move |w| {
                done.iter()
                    .map(|attempt| outbox::finish(&w.connection, attempt))
                    .collect()
            })
            .await
    }

    async fn notifications(
        &self,
        filter: &NotificationFilter,
    ) -> Result<Vec<NotificationSummary>, StoreError> {
        self.readers.with(|c| outbox::list(c, filter))
    }

    async fn notification(
        &self,
        notification_id: i64,
    ) -> Result<Option<NotificationDetail>, StoreError> {
        self.readers.with(|c| outbox::detail(c, notification_id))
    }

    async fn resend_notification(
        &self,
        notification_id: i64,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.writer
            .run(move |w| outbox::resend(&w.connection, notification_id, now))
            .await
    }

    async fn notification_counts(
        &self,
        client_id: Option<&str>,
    ) -> Result<NotificationCounts, StoreError> {
        self.readers.with(|c| outbox::counts(c, client_id))
    }

    async fn notification_backlog(
        &self,
        now: OffsetDateTime,
    ) -> Result<NotificationBacklog, StoreError> {
        self.readers.with(|c| outbox::backlog(c, now))
    }

    async fn add_operator(&self, operator: &Operator) -> Result<(), StoreError> {
        let operator = operator.clone();
        self.writer
            .run(move |w| console::add_operator(&w.connection, &operator))
            .await
    }

    async fn remove_operator(&self, name: &str) -> Result<(), StoreError> {
        let name = name.to_owned();
        self.writer
            .run(move |w| console::remove_operator(&w.connection, &name))
            .await
    }

    async fn operator(&self, name: &str) -> Result<Option<Operator>, StoreError> {
        self.readers.with(|c| console::operator(c, name))
    }

    async fn start_console_session(
        &self,
        id_hash: &str,
        operator: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (id_hash, operator) = (id_hash.to_owned(), operator.to_owned());
        self.writer
            .run(move |w| console::start_session(&w.connection, &id_hash, &operator, now))
            .await
    }

    async fn touch_console_session(
        &self,
        id_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        let id_hash = id_hash.to_owned();
        self.writer
            .run(move |w| console::touch_session(&w.connection, &id_hash, now))
            .await
    }

    async fn end_console_session(&self, id_hash: &str) -> Result<(), StoreError> {
        let id_hash = id_hash.to_owned();
        self.writer
            .run(move |w| console::end_session(&w.connection, &id_hash))
            .await
    }

    async fn admit_login(
        &self,
        name: &str,
        address: &str,
        now: OffsetDateTime,
    ) -> Result<LoginGate, StoreError> {
        let (name, address) = (name.to_owned(), address.to_owned());
        self.writer
            .run(move |w| console::admit_login(&w.connection, &name, &address, now))
            .await
    }

    async fn clear_login_failures(&self, name: &str) -> Result<(), StoreError> {
        let name = name.to_owned();
        self.writer
            .run(move |w| console::clear_login_failures(&w.connection, &name))
            .await
    }

    async fn append_audit(&self, entry: &NewAuditEntry) -> Result<i64, StoreError> {
        let entry = entry.clone();
        self.writer
            .run(move |w| console::append_audit(&w.connection, &entry))
            .await
    }

    async fn audit_log(
        &self,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.readers.with(|c| console::audit_log(c, limit, before))
    }
}

/// Runs `work` inside a savepoint: when it fails, its writes are undone (the claim made before
/// it stands). `Err` only when the savepoint itself fails.
fn in_savepoint<T>(
    c: &Connection,
    work: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<Result<T, StoreError>, StoreError> {
    c.prepare_cached("SAVEPOINT work")?.execute([])?;
    let done = work(c);
    if done.is_err() {
        c.prepare_cached("ROLLBACK TO work")?.execute([])?;
    }
    c.prepare_cached("RELEASE work")?.execute([])?;
    Ok(done)
}
