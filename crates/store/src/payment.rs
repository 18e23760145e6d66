//! The rules of the sandbox payment simulation, shared by both stores.

use crate::model::{PaymentRefusal, QrCode, QrKind};

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

/// The outcome once the conditional update ran: it changed a row, or the QR was paid or
/// expired meanwhile.
pub(crate) fn outcome(updated: bool, after: QrCode) -> Result<QrCode, PaymentRefusal> {
    if updated {
        Ok(after)
    } else if after.payment_count > 0 {
        Err(PaymentRefusal::AlreadyPaid)
    } else {
        Err(PaymentRefusal::Expired)
    }
}
