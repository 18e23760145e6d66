//! The rules of the sandbox payment simulation, shared by both stores.

use crate::model::{
    PayerDetails, Payment, PaymentOutcome, PaymentRefusal, QrCode, QrKind, SandboxPayment,
};
use crate::work::RecordPayment;
use time::OffsetDateTime;

/// The update a payment makes, decided from the QR as it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PaymentUpdate {
    /// A dynamic QR, paid once for its own amount (`QR_PAY_DYNAMIC`).
    Dynamic,
    /// A static QR, paid any number of times for the amount given (`QR_PAY_STATIC`).
    Static {
        /// The amount paid, in sen.
        amount_sen: i64,
    },
}

impl PaymentUpdate {
    /// The amount the payment is for: the dynamic QR's own, or the static payment's.
    pub(crate) fn amount_sen(self, qr: &QrCode) -> i64 {
        match self {
            PaymentUpdate::Dynamic => qr.amount_sen.unwrap_or(0),
            PaymentUpdate::Static { amount_sen } => amount_sen,
        }
    }
}

/// A payment row to write once the rules allow it.
#[derive(Debug, Clone)]
pub(crate) struct NewPayment {
    /// Its id.
    pub(crate) payment_id: i64,
    /// Who reported it.
    pub(crate) payer_client_id: String,
    /// The payer's reference.
    pub(crate) partner_reference_no: String,
    /// When it is paid.
    pub(crate) at: OffsetDateTime,
    /// What the payer said about it.
    pub(crate) details: PayerDetails,
    /// The id of the notification it sends its QR's partner.
    pub(crate) notification_id: i64,
}

impl NewPayment {
    /// The payment of service 50's job.
    pub(crate) fn of_job(job: &RecordPayment) -> NewPayment {
        NewPayment {
            payment_id: job.payment_id,
            payer_client_id: job.payer.as_str().to_owned(),
            partner_reference_no: job.partner_reference_no.clone(),
            at: job.at,
            details: job.details.clone(),
            notification_id: job.notification_id,
        }
    }

    /// A sandbox payment (`admin qr pay`): no payer institution, so the QR's own partner pays
    /// under the reference `admin-<payment_id>`.
    pub(crate) fn sandbox(payment: &SandboxPayment, qr: &QrCode) -> NewPayment {
        let SandboxPayment {
            payment_id,
            notification_id,
            at,
            ..
        } = *payment;
        NewPayment {
            payment_id,
            notification_id,
            payer_client_id: qr.client_id.clone(),
            partner_reference_no: format!("admin-{payment_id}"),
            at,
            details: PayerDetails::default(),
        }
    }

    /// The payment as written for `qr`.
    pub(crate) fn made(self, qr: &QrCode, amount_sen: i64) -> Payment {
        Payment {
            payment_id: self.payment_id,
            id_qr: qr.id_qr,
            merchant_id: qr.merchant_id.clone(),
            payer_client_id: self.payer_client_id,
            partner_reference_no: self.partner_reference_no,
            amount_sen,
            paid_at: self.at,
            details: self.details,
        }
    }
}

/// The answer to a payer reference that paid before: the same payment again when the payload
/// and the amount are the same (a dynamic QR's amount may be left out, as the first time),
/// else inconsistent.
pub(crate) fn repeated(
    earlier: Payment,
    earlier_kind: QrKind,
    earlier_content: &str,
    job: &RecordPayment,
) -> PaymentOutcome {
    let same_amount = match (earlier_kind, job.amount_sen) {
        (QrKind::Dynamic, None) => true,
        (_, Some(amount_sen)) => amount_sen == earlier.amount_sen,
        (QrKind::Static, None) => false,
    };
    if same_amount && earlier_content == job.qr_content {
        PaymentOutcome::Repeated(earlier)
    } else {
        PaymentOutcome::Inconsistent
    }
}

/// Which update a payment of `amount_sen` makes to `qr`, or why it is refused before any write.
pub(crate) fn plan(qr: &QrCode, amount_sen: Option<i64>) -> Result<PaymentUpdate, PaymentRefusal> {
    match qr.kind {
        QrKind::Dynamic if amount_sen.is_some_and(|amount| Some(amount) != qr.amount_sen) => {
            Err(PaymentRefusal::AmountMismatch)
        }
        QrKind::Dynamic => Ok(PaymentUpdate::Dynamic),
        QrKind::Static => amount_sen
            .map(|amount_sen| PaymentUpdate::Static { amount_sen })
            .ok_or(PaymentRefusal::AmountRequired),
    }
}

/// Why the conditional update changed no row: the dynamic QR was paid, or expired or was
/// cancelled, meanwhile (`after` is the QR read again).
pub(crate) fn why_not_paid(after: &QrCode) -> PaymentRefusal {
    if after.payment_count > 0 {
        PaymentRefusal::AlreadyPaid
    } else {
        PaymentRefusal::Expired
    }
}
