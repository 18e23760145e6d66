//! The PostgreSQL side of refunds and cancels (services 78 and 77), each in the claim's
//! transaction. Racing refunds of one payment are serialised by the row lock of the payment's
//! conditional UPDATE (each re-checks the sum rule on the row as the one before left it);
//! racing uses of one refund reference by an advisory lock taken first; a cancel and a payment
//! of one QR by the QR's row (the payment locks it, the cancel's UPDATE waits for it).

use super::PgContext;
use super::jobs::in_claim_transaction;
use super::sql as q;
use crate::StoreError;
use crate::model::{
    CancelOutcome, ExternalIdKey, Payment, QrCode, QrReference, RefundOutcome, RefundRefusal,
};
use crate::outbox::NewNotification;
use crate::refund;
use crate::rows::{payment_from_row, qr_from_row, refund_from_row, to_ms};
use crate::work::{CancelQr, ClaimedWork, RefundPayment};
use sqlx::PgConnection;
use time::OffsetDateTime;

/// The merchant's QR that `reference` names.
async fn named_qr(
    c: &mut PgConnection,
    merchant_id: &str,
    reference: &QrReference,
) -> Result<Option<QrCode>, StoreError> {
    let row = match reference {
        QrReference::Id { id_qr, .. } => {
            sqlx::query(q::QR_BY_ID)
                .bind(merchant_id)
                .bind(*id_qr)
                .fetch_optional(&mut *c)
                .await?
        }
        QrReference::PartnerReference(partner_reference_no) => {
            sqlx::query(q::QR_BY_REFERENCE)
                .bind(merchant_id)
                .bind(partner_reference_no)
                .fetch_optional(&mut *c)
                .await?
        }
    };
    let qr = row.as_ref().map(qr_from_row).transpose()?;
    Ok(qr.filter(|qr| reference.names(qr.id_qr, &qr.partner_reference_no)))
}

/// [`RefundPayment`] in the claim's transaction.
pub(crate) async fn refund_payment(
    pg: &PgContext,
    claim: &ExternalIdKey,
    now: OffsetDateTime,
    job: RefundPayment,
) -> Result<ClaimedWork<RefundOutcome>, StoreError> {
    let mut conn = pg.pool.acquire().await?;
    in_claim_transaction(&mut conn, claim, now, move |c| Box::pin(refund_in(c, job))).await
}

async fn refund_in(c: &mut PgConnection, job: RefundPayment) -> Result<RefundOutcome, StoreError> {
    sqlx::query(q::REFUND_REFERENCE_LOCK)
        .bind(job.client_id.as_str())
        .bind(&job.partner_refund_no)
        .execute(&mut *c)
        .await?;
    let earlier = sqlx::query(q::REFUND_BY_PARTNER_NO)
        .bind(job.client_id.as_str())
        .bind(&job.partner_refund_no)
        .fetch_optional(&mut *c)
        .await?;
    if let Some(row) = earlier {
        return Ok(refund::repeated(refund_from_row(&row)?, &job));
    }
    let Some(qr) = named_qr(c, job.merchant_id.as_str(), &job.qr).await? else {
        return Ok(RefundOutcome::Refused(RefundRefusal::NotFound));
    };
    let (named, latest) = match job.payment_id {
        Some(payment_id) => {
            let row = sqlx::query(q::PAYMENT_OF_QR)
                .bind(qr.id_qr)
                .bind(payment_id)
                .fetch_optional(&mut *c)
                .await?;
            (
                Some(row.as_ref().map(payment_from_row).transpose()?),
                Vec::new(),
            )
        }
        None => {
            let rows = sqlx::query(q::PAYMENTS_OF_QR)
                .bind(qr.id_qr)
                .fetch_all(&mut *c)
                .await?;
            let latest = rows
                .iter()
                .map(payment_from_row)
                .collect::<Result<Vec<Payment>, _>>()?;
            (None, latest)
        }
    };
    let payment = match refund::choose(&qr, named, latest)
        .and_then(|payment| refund::within_window(&payment, &job).map(|()| payment))
    {
        Ok(payment) => payment,
        Err(refusal) => return Ok(RefundOutcome::Refused(refusal)),
    };
    let sums: Option<(i64, i64)> = sqlx::query_as(q::PAYMENT_ADD_REFUND)
        .bind(job.amount_sen)
        .bind(payment.payment_id)
        .fetch_optional(&mut *c)
        .await?;
    let Some((refunded_sen, _)) = sums else {
        return Ok(RefundOutcome::Refused(RefundRefusal::ExceedsAmount));
    };
    let made = refund::made(&qr, &payment, &job);
    sqlx::query(q::REFUND_INSERT)
        .bind(made.refund_no)
        .bind(made.payment_id)
        .bind(made.id_qr)
        .bind(&made.client_id)
        .bind(&made.partner_refund_no)
        .bind(made.amount_sen)
        .bind(&made.reason)
        .bind(to_ms(made.refunded_at))
        .execute(&mut *c)
        .await?;
    let facts = refund::facts(&made, refunded_sen);
    let notification = NewNotification::of_refund(job.notification_id, &qr, &payment, &facts);
    super::outbox::insert_notification(c, &notification).await?;
    Ok(RefundOutcome::Refunded(made))
}

/// [`CancelQr`]: the QR found by its reference, then cancelled by a conditional update in the
/// claim's transaction.
pub(crate) async fn cancel_qr(
    pg: &PgContext,
    claim: &ExternalIdKey,
    now: OffsetDateTime,
    job: CancelQr,
) -> Result<ClaimedWork<CancelOutcome>, StoreError> {
    let mut conn = pg.pool.acquire().await?;
    in_claim_transaction(&mut conn, claim, now, move |c| Box::pin(cancel_in(c, job))).await
}

async fn cancel_in(c: &mut PgConnection, job: CancelQr) -> Result<CancelOutcome, StoreError> {
    let Some(qr) = named_qr(c, job.merchant_id.as_str(), &job.qr).await? else {
        return Ok(CancelOutcome::NotFound);
    };
    let cancelled = sqlx::query(q::QR_CANCEL)
        .bind(to_ms(job.at))
        .bind(&job.reason)
        .bind(qr.id_qr)
        .execute(&mut *c)
        .await?
        .rows_affected()
        == 1;
    Ok(if cancelled {
        CancelOutcome::Cancelled(Box::new(qr))
    } else {
        CancelOutcome::InvalidStatus
    })
}
