//! The rules of refunds (service 78, CONTRACT §6.3), shared by both stores. The sum rule is
//! not here: it is the condition of each backend's `PAYMENT_ADD_REFUND`, so that racing
//! refunds are decided by the database.

use crate::model::{Payment, QrCode, Refund, RefundOutcome, RefundRefusal};
use crate::outbox::RefundFacts;
use crate::work::RefundPayment;

/// The answer to a partner refund reference that refunded before: the same refund again when
/// it was of the same QR (of the same merchant), payment and amount, else inconsistent. A
/// request that names no payment names the one the first refund chose.
pub(crate) fn repeated(earlier: Refund, job: &RefundPayment) -> RefundOutcome {
    let same_qr = earlier.merchant_id == job.merchant_id.as_str()
        && job
            .qr
            .names(earlier.id_qr, &earlier.qr_partner_reference_no);
    let same_payment = job
        .payment_id
        .is_none_or(|named| named == earlier.payment_id);
    if same_qr && same_payment && earlier.amount_sen == job.amount_sen {
        RefundOutcome::Repeated(earlier)
    } else {
        RefundOutcome::Inconsistent
    }
}

/// The payment a refund of `qr` is of: the one named (`named`, as looked up among the QR's
/// payments), or, when none is named, the QR's only one (`latest`: its latest two at most).
pub(crate) fn choose(
    qr: &QrCode,
    named: Option<Option<Payment>>,
    latest: Vec<Payment>,
) -> Result<Payment, RefundRefusal> {
    if qr.payment_count == 0 {
        return Err(RefundRefusal::NotPaid);
    }
    match named {
        Some(payment) => payment.ok_or(RefundRefusal::NotFound),
        None => {
            let mut latest = latest.into_iter();
            match (latest.next(), latest.next()) {
                (None, _) => Err(RefundRefusal::NotPaid),
                (Some(only), None) => Ok(only),
                (Some(_), Some(_)) => Err(RefundRefusal::PaymentIdRequired),
            }
        }
    }
}

/// Whether `payment` may still be refunded at the job's time: within `refund-window` of it.
pub(crate) fn within_window(payment: &Payment, job: &RefundPayment) -> Result<(), RefundRefusal> {
    if job.at - payment.paid_at > job.refund_window {
        Err(RefundRefusal::OutsideWindow)
    } else {
        Ok(())
    }
}

/// What the refund's notification tells of it; `refunded_total_sen` is the payment's refunds
/// with this one, as the conditional update left them.
pub(crate) fn facts(refund: &Refund, refunded_total_sen: i64) -> RefundFacts {
    RefundFacts {
        refund_no: refund.refund_no,
        partner_refund_no: refund.partner_refund_no.clone(),
        amount_sen: refund.amount_sen,
        at: refund.refunded_at,
        refunded_total_sen,
    }
}

/// The refund as written.
pub(crate) fn made(qr: &QrCode, payment: &Payment, job: &RefundPayment) -> Refund {
    Refund {
        refund_no: job.refund_no,
        payment_id: payment.payment_id,
        id_qr: qr.id_qr,
        qr_partner_reference_no: qr.partner_reference_no.clone(),
        merchant_id: qr.merchant_id.clone(),
        client_id: job.client_id.as_str().to_owned(),
        partner_refund_no: job.partner_refund_no.clone(),
        amount_sen: job.amount_sen,
        reason: job.reason.clone(),
        refunded_at: job.at,
    }
}
