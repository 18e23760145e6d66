//! The SQLite side of refunds and cancels (services 78 and 77): run by the writer thread right
//! after the claim, inside the claim's transaction. The writer runs one job at a time, so what
//! a job reads stays true until it commits; the sum rule and the cancel's conditions still live
//! in their UPDATEs, as on PostgreSQL.

use super::sql as q;
use super::statements::{read_all, read_optional};
use crate::StoreError;
use crate::model::{CancelOutcome, QrCode, QrReference, RefundOutcome, RefundRefusal};
use crate::outbox::NewNotification;
use crate::refund;
use crate::rows::{payment_from_row, qr_from_row, refund_from_row, to_ms};
use crate::work::{CancelQr, RefundPayment};
use rusqlite::{Connection, params};

/// The merchant's QR that `reference` names.
fn named_qr(
    c: &Connection,
    merchant_id: &str,
    reference: &QrReference,
) -> Result<Option<QrCode>, StoreError> {
    let qr = match reference {
        QrReference::Id { id_qr, .. } => {
            read_optional(c, q::QR_BY_ID, params![merchant_id, id_qr], |row| {
                qr_from_row(row)
            })?
        }
        QrReference::PartnerReference(partner_reference_no) => read_optional(
            c,
            q::QR_BY_REFERENCE,
            params![merchant_id, partner_reference_no],
            |row| qr_from_row(row),
        )?,
    };
    Ok(qr.filter(|qr| reference.names(qr.id_qr, &qr.partner_reference_no)))
}

/// [`RefundPayment`].
pub(crate) fn refund_payment(
    c: &Connection,
    job: RefundPayment,
) -> Result<RefundOutcome, StoreError> {
    let reference = params![job.client_id.as_str(), job.partner_refund_no];
    let earlier = read_optional(c, q::REFUND_BY_PARTNER_NO, reference, |row| {
        refund_from_row(row)
    })?;
    if let Some(earlier) = earlier {
        return Ok(refund::repeated(earlier, &job));
    }
    let Some(qr) = named_qr(c, job.merchant_id.as_str(), &job.qr)? else {
        return Ok(RefundOutcome::Refused(RefundRefusal::NotFound));
    };
    let named = job
        .payment_id
        .map(|payment_id| {
            read_optional(c, q::PAYMENT_OF_QR, params![qr.id_qr, payment_id], |row| {
                payment_from_row(row)
            })
        })
        .transpose()?;
    let latest = if named.is_none() {
        read_all(c, q::PAYMENTS_OF_QR, [qr.id_qr], |row| {
            payment_from_row(row)
        })?
    } else {
        Vec::new()
    };
    let payment = match refund::choose(&qr, named, latest)
        .and_then(|payment| refund::within_window(&payment, &job).map(|()| payment))
    {
        Ok(payment) => payment,
        Err(refusal) => return Ok(RefundOutcome::Refused(refusal)),
    };
    let sums = read_optional(
        c,
        q::PAYMENT_ADD_REFUND,
        params![job.amount_sen, payment.payment_id],
        |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)),
    )?;
    let Some((refunded_sen, _)) = sums else {
        return Ok(RefundOutcome::Refused(RefundRefusal::ExceedsAmount));
    };
    let made = refund::made(&qr, &payment, &job);
    c.prepare_cached(q::REFUND_INSERT)?.execute(params![
        made.refund_no,
        made.payment_id,
        made.id_qr,
        made.client_id,
        made.partner_refund_no,
        made.amount_sen,
        made.reason,
        to_ms(made.refunded_at),
    ])?;
    let facts = refund::facts(&made, refunded_sen);
    let notification = NewNotification::of_refund(job.notification_id, &qr, &payment, &facts);
    super::outbox::insert_notification(c, &notification)?;
    Ok(RefundOutcome::Refunded(made))
}

/// [`CancelQr`]: the QR is found by its reference, then cancelled by a conditional update.
pub(crate) fn cancel_qr(c: &Connection, job: CancelQr) -> Result<CancelOutcome, StoreError> {
    let Some(qr) = named_qr(c, job.merchant_id.as_str(), &job.qr)? else {
        return Ok(CancelOutcome::NotFound);
    };
    let values = params![to_ms(job.at), job.reason, qr.id_qr];
    Ok(if c.prepare_cached(q::QR_CANCEL)?.execute(values)? == 1 {
        CancelOutcome::Cancelled(Box::new(qr))
    } else {
        CancelOutcome::InvalidStatus
    })
}
