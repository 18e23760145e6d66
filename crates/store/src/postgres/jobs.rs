//! The PostgreSQL side of each unit of work (`work.rs`): the claim and the work in one
//! transaction — batched with concurrent requests' claims where the work is a QR insert or
//! nothing (`batch.rs`), in a transaction of its own otherwise.

use super::PgContext;
use super::list::PostgresDay;
use super::sql as q;
use crate::list::PageSource;
use crate::model::{ExpireOutcome, ExternalIdKey, Payment, PaymentOutcome, PaymentRefusal, QrCode};
use crate::outbox::NewNotification;
use crate::payment::{self, NewPayment, PaymentUpdate};
use crate::rows::{Columns, kind_from_row, payment_from_row, qr_from_row, to_ms};
use crate::work::{
    ClaimedWork, ExpireQr, FirstListPage, InsertQr, ListPage, NoWork, RecordPayment,
};
use crate::{Constraint, Entity, StoreError};
use futures_util::future::BoxFuture;
use snapqris_protocol::JakartaDate;
use sqlx::{Connection, PgConnection};
use time::OffsetDateTime;

/// The claim statement with its values bound.
fn claim_query<'q>(
    claim: &'q ExternalIdKey,
    now: OffsetDateTime,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    sqlx::query(q::CLAIM)
        .bind(claim.client_id.as_str())
        .bind(claim.day.date())
        .bind(claim.external_id.as_str())
        .bind(to_ms(now))
}

/// Claims and, when the claim is new, runs `work` in the claim's transaction, inside a
/// savepoint: a failed work has its writes undone and the claim still commits.
pub(crate) async fn in_claim_transaction<T, F>(
    conn: &mut PgConnection,
    claim: &ExternalIdKey,
    now: OffsetDateTime,
    work: F,
) -> Result<ClaimedWork<T>, StoreError>
where
    F: for<'t> FnOnce(&'t mut PgConnection) -> BoxFuture<'t, Result<T, StoreError>>,
{
    let mut tx = conn.begin().await?;
    if claim_query(claim, now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 0
    {
        tx.rollback().await?;
        return Ok(ClaimedWork::AlreadyUsed);
    }
    // A transaction begun inside a transaction is a savepoint.
    let mut savepoint = tx.begin().await?;
    let done = work(&mut savepoint).await;
    match done {
        Ok(_) => savepoint.commit().await?,
        Err(_) => savepoint.rollback().await?,
    }
    tx.commit().await?;
    Ok(ClaimedWork::Claimed(done))
}

/// [`NoWork`]: the claim alone, in the next batch.
pub(crate) async fn no_work(
    pg: &PgContext,
    claim: &ExternalIdKey,
    now: OffsetDateTime,
    _: NoWork,
) -> Result<ClaimedWork<()>, StoreError> {
    pg.batcher.claim(claim, now, None).await
}

/// [`InsertQr`]: claim and QR in the next batch.
pub(crate) async fn insert_qr(
    pg: &PgContext,
    claim: &ExternalIdKey,
    now: OffsetDateTime,
    job: InsertQr,
) -> Result<ClaimedWork<()>, StoreError> {
    pg.batcher.claim(claim, now, Some(job.0)).await
}

/// [`FirstListPage`]: the claim in the next batch and, at the same time, the first page, read
/// on the pool; answered once the claim has committed (the page shows only committed QRs, as on
/// SQLite; a refused claim's page is thrown away).
pub(crate) async fn first_list_page(
    pg: &PgContext,
    claim: &ExternalIdKey,
    now: OffsetDateTime,
    job: FirstListPage,
) -> Result<ClaimedWork<ListPage>, StoreError> {
    let day = PostgresDay {
        pool: pg.pool.clone(),
        merchant_id: job.merchant_id.as_str().to_owned(),
        day: job.day.date(),
    };
    let (claimed, page) = tokio::join!(pg.batcher.claim(claim, now, None), day.page(None));
    Ok(match claimed? {
        ClaimedWork::AlreadyUsed => ClaimedWork::AlreadyUsed,
        ClaimedWork::Claimed(claimed) => ClaimedWork::Claimed(claimed.and(page)),
    })
}

/// The claim alone, one statement on `conn` (a batch's fallback).
pub(crate) async fn claim_alone(
    conn: &mut PgConnection,
    claim: &ExternalIdKey,
    now: OffsetDateTime,
    _: NoWork,
) -> Result<ClaimedWork<()>, StoreError> {
    let done = claim_query(claim, now).execute(conn).await?;
    Ok(if done.rows_affected() == 1 {
        ClaimedWork::Claimed(Ok(()))
    } else {
        ClaimedWork::AlreadyUsed
    })
}

/// Claim and QR in one statement on `conn` (`CLAIM_AND_INSERT_QR`; a batch's fallback).
pub(crate) async fn insert_qr_alone(
    conn: &mut PgConnection,
    claim: &ExternalIdKey,
    now: OffsetDateTime,
    job: InsertQr,
) -> Result<ClaimedWork<()>, StoreError> {
    let qr = job.0;
    let inserted: Result<(bool, bool), sqlx::Error> = sqlx::query_as(q::CLAIM_AND_INSERT_QR)
        .bind(claim.client_id.as_str())
        .bind(claim.day.date())
        .bind(claim.external_id.as_str())
        .bind(to_ms(now))
        .bind(qr.id_qr)
        .bind(qr.merchant_id.as_str())
        .bind(qr.client_id.as_str())
        .bind(&qr.partner_reference_no)
        .bind(qr.kind.as_str())
        .bind(qr.amount_sen)
        .bind(&qr.terminal_id)
        .bind(to_ms(qr.generated_at))
        .bind(JakartaDate::of_instant(qr.generated_at).date())
        .bind(qr.expires_at.map(to_ms))
        .bind(&qr.qr_content)
        .fetch_one(&mut *conn)
        .await;
    match inserted {
        Ok((false, _)) => Ok(ClaimedWork::AlreadyUsed),
        Ok((true, true)) => Ok(ClaimedWork::Claimed(Ok(()))),
        Ok((true, false)) => {
            let id_taken: bool = sqlx::query_scalar(q::QR_ID_TAKEN)
                .bind(qr.id_qr)
                .fetch_one(conn)
                .await?;
            let constraint = if id_taken {
                Constraint::QrId
            } else {
                Constraint::PartnerReferenceNo
            };
            Ok(ClaimedWork::Claimed(Err(StoreError::Conflict(constraint))))
        }
        // An unknown merchant fails the whole statement, claim included: claim on its own.
        Err(e) if StoreError::is_foreign_key_violation(&e) => {
            Ok(match claim_alone(conn, claim, now, NoWork).await? {
                ClaimedWork::AlreadyUsed => ClaimedWork::AlreadyUsed,
                ClaimedWork::Claimed(_) => {
                    ClaimedWork::Claimed(Err(StoreError::NotFound(Entity::Merchant)))
                }
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// [`ExpireQr`]: a conditional update in the claim's transaction.
pub(crate) async fn expire_qr(
    pg: &PgContext,
    claim: &ExternalIdKey,
    now: OffsetDateTime,
    job: ExpireQr,
) -> Result<ClaimedWork<ExpireOutcome>, StoreError> {
    let mut conn = pg.pool.acquire().await?;
    in_claim_transaction(&mut conn, claim, now, move |c| expire(c, job)).await
}

fn expire(c: &mut PgConnection, job: ExpireQr) -> BoxFuture<'_, Result<ExpireOutcome, StoreError>> {
    Box::pin(async move {
        let updated = sqlx::query(q::QR_EXPIRE)
            .bind(to_ms(job.at))
            .bind(job.merchant_id.as_str())
            .bind(job.id_qr)
            .execute(&mut *c)
            .await?
            .rows_affected()
            == 1;
        let exists = updated
            || sqlx::query(q::QR_BY_ID)
                .bind(job.merchant_id.as_str())
                .bind(job.id_qr)
                .fetch_optional(&mut *c)
                .await?
                .is_some();
        Ok(ExpireOutcome::from_update(updated, exists))
    })
}

/// [`RecordPayment`]: in the claim's transaction, the payer's reference and the QR's row locked
/// first, so that racing payments of one QR, and racing uses of one reference, run one after
/// the other.
pub(crate) async fn record_payment(
    pg: &PgContext,
    claim: &ExternalIdKey,
    now: OffsetDateTime,
    job: RecordPayment,
) -> Result<ClaimedWork<PaymentOutcome>, StoreError> {
    let mut conn = pg.pool.acquire().await?;
    in_claim_transaction(&mut conn, claim, now, move |c| {
        Box::pin(record_payment_in(c, job))
    })
    .await
}

async fn record_payment_in(
    c: &mut PgConnection,
    job: RecordPayment,
) -> Result<PaymentOutcome, StoreError> {
    sqlx::query(q::PAYMENT_REFERENCE_LOCK)
        .bind(job.payer.as_str())
        .bind(&job.partner_reference_no)
        .execute(&mut *c)
        .await?;
    let qr = sqlx::query(q::QR_FOR_PAYMENT)
        .bind(job.id_qr)
        .fetch_optional(&mut *c)
        .await?;
    let qr = qr.as_ref().map(qr_from_row).transpose()?;
    let earlier = sqlx::query(q::PAYMENT_BY_REFERENCE)
        .bind(job.payer.as_str())
        .bind(&job.partner_reference_no)
        .fetch_optional(&mut *c)
        .await?;
    if let Some(row) = earlier {
        let content = row.text("qr_content")?;
        let earlier = payment_from_row(&row)?;
        return Ok(payment::repeated(
            earlier,
            kind_from_row(&row)?,
            &content,
            &job,
        ));
    }
    let Some(qr) = qr.filter(|qr| qr.qr_content == job.qr_content) else {
        return Ok(PaymentOutcome::Refused(PaymentRefusal::NotFound));
    };
    let blacklisted = sqlx::query(q::MERCHANT_BLACKLISTED)
        .bind(&qr.merchant_id)
        .fetch_optional(&mut *c)
        .await?;
    if let Some(row) = blacklisted
        && row.flag("blacklisted")?
    {
        return Ok(PaymentOutcome::MerchantBlacklisted);
    }
    Ok(
        match pay(c, &qr, job.amount_sen, NewPayment::of_job(&job)).await? {
            Ok(made) => PaymentOutcome::Paid(made),
            Err(refusal) => PaymentOutcome::Refused(refusal),
        },
    )
}

/// Pays `qr` (as just read, its row locked) by the rules of `payment.rs`: the conditional
/// update of the QR, then the payment row.
pub(crate) async fn pay(
    c: &mut PgConnection,
    qr: &QrCode,
    amount_sen: Option<i64>,
    new: NewPayment,
) -> Result<Result<Payment, PaymentRefusal>, StoreError> {
    let update = match payment::plan(qr, amount_sen) {
        Ok(update) => update,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let at = to_ms(new.at);
    let done = match update {
        PaymentUpdate::Dynamic => {
            sqlx::query(q::QR_PAY_DYNAMIC)
                .bind(at)
                .bind(qr.id_qr)
                .execute(&mut *c)
                .await?
        }
        PaymentUpdate::Static { amount_sen } => {
            sqlx::query(q::QR_PAY_STATIC)
                .bind(at)
                .bind(amount_sen)
                .bind(qr.id_qr)
                .execute(&mut *c)
                .await?
        }
    };
    if done.rows_affected() == 0 {
        let after = sqlx::query(q::QR_ANY_BY_ID)
            .bind(qr.id_qr)
            .fetch_optional(&mut *c)
            .await?;
        let after = after
            .as_ref()
            .map(qr_from_row)
            .transpose()?
            .ok_or(StoreError::NotFound(Entity::Qr))?;
        return Ok(Err(payment::why_not_paid(&after)));
    }
    let notification_id = new.notification_id;
    let made = new.made(qr, update.amount_sen(qr));
    sqlx::query(q::PAYMENT_INSERT)
        .bind(made.payment_id)
        .bind(made.id_qr)
        .bind(&made.payer_client_id)
        .bind(&made.partner_reference_no)
        .bind(made.amount_sen)
        .bind(at)
        .bind(&made.details.issuer_name)
        .bind(&made.details.customer_name)
        .bind(&made.details.rrn)
        .execute(&mut *c)
        .await?;
    let notification = NewNotification::of_payment(notification_id, qr, &made);
    super::outbox::insert_notification(c, &notification).await?;
    Ok(Ok(made))
}
