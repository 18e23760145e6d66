//! The PostgreSQL side of each unit of work (`work.rs`): the claim and the work in one
//! transaction — batched with concurrent requests' claims where the work is a QR insert or
//! nothing (`batch.rs`), in a transaction of its own otherwise.

use super::PgContext;
use super::list::PostgresDay;
use super::sql as q;
use crate::list::PageSource;
use crate::model::{ExpireOutcome, ExternalIdKey};
use crate::rows::to_ms;
use crate::work::{ClaimedWork, ExpireQr, FirstListPage, InsertQr, ListPage, NoWork};
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
