//! Units of work: an `X-EXTERNAL-ID` claim and the writes it guards, committed together.
//!
//! CONTRACT §4.2: a request's id is used up once its signature verifies, whatever follows, and
//! a 2xx answer means its writes are durable. So the claim and the request's own work (a QR
//! insert, a payment and its notification) must commit in one transaction or not at all. The
//! server describes the work as a [`Job`]; `Store::claim_then` claims
//! and, only when the claim is new, runs the job in the claim's own transaction: on SQLite one
//! job of the writer thread, on PostgreSQL one transaction (the claims and QR inserts of
//! concurrent requests batched into one statement, `postgres/batch.rs`). A job that fails has all of its writes undone while the claim
//! stands: a refused request still uses up its id.
//!
//! A new service adds a job type here, with its statements in each backend's module; the
//! `Store` trait does not grow.

use crate::StoreError;
use crate::model::{
    CancelOutcome, ExpireOutcome, ExternalIdKey, NewQr, PayerDetails, PaymentOutcome, QrReference,
    QrSummary, RefundOutcome,
};
use crate::postgres::PgContext;
use futures_util::future::BoxFuture;
use snapqris_protocol::{ClientId, JakartaDate, MerchantId};
use std::any::Any;
use time::OffsetDateTime;

/// The outcome of a claim made together with its work.
#[derive(Debug)]
pub enum ClaimedWork<T> {
    /// The partner used this `X-EXTERNAL-ID` that day already; the work did not run.
    AlreadyUsed,
    /// The id is now claimed and the work ran in the same transaction; a failed work had its
    /// writes undone, the claim stands.
    Claimed(Result<T, StoreError>),
}

impl<T> ClaimedWork<T> {
    /// The work's outcome changed by `f`, the claim's outcome kept.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> ClaimedWork<U> {
        match self {
            ClaimedWork::AlreadyUsed => ClaimedWork::AlreadyUsed,
            ClaimedWork::Claimed(outcome) => ClaimedWork::Claimed(outcome.map(f)),
        }
    }
}

mod sealed {
    use super::*;

    /// Only this crate's jobs exist: each one's statements live in the backends.
    #[allow(unreachable_pub)] // the sealed-trait pattern: public, but unnameable outside
    pub trait Sealed {}

    /// A [`Job`] with its output type erased, so that `dyn Store` can run any of them.
    #[allow(unreachable_pub)] // the sealed-trait pattern: public, but unnameable outside
    pub trait ErasedJob: Send {
        /// [`Job::sqlite`], its output boxed.
        fn sqlite(self: Box<Self>, c: &rusqlite::Connection) -> Result<AnyOutput, StoreError>;
        /// [`Job::postgres`], its output boxed.
        fn postgres<'c>(
            self: Box<Self>,
            pg: &'c PgContext,
            claim: &'c ExternalIdKey,
            now: OffsetDateTime,
        ) -> BoxFuture<'c, Result<ClaimedWork<AnyOutput>, StoreError>>;
    }
}

pub(crate) use sealed::ErasedJob;

/// The output of an erased job.
pub(crate) type AnyOutput = Box<dyn Any + Send>;

/// Work that commits together with an `X-EXTERNAL-ID` claim (see the module doc). The types
/// implementing it are this crate's: [`NoWork`], [`InsertQr`], [`FirstListPage`],
/// [`ExpireQr`], [`RecordPayment`], [`RefundPayment`], [`CancelQr`].
pub trait Job: sealed::Sealed + Send + 'static {
    /// What the work produces once committed.
    type Output: Send + 'static;

    /// Runs the work on the SQLite writer, inside the claim's transaction (the claim is made).
    #[doc(hidden)]
    fn sqlite(self, c: &rusqlite::Connection) -> Result<Self::Output, StoreError>;

    /// Claims `claim` and runs the work on PostgreSQL, both in one transaction.
    #[doc(hidden)]
    fn postgres<'c>(
        self,
        pg: &'c PgContext,
        claim: &'c ExternalIdKey,
        now: OffsetDateTime,
    ) -> BoxFuture<'c, Result<ClaimedWork<Self::Output>, StoreError>>;
}

impl<J: Job> sealed::ErasedJob for J {
    fn sqlite(self: Box<Self>, c: &rusqlite::Connection) -> Result<AnyOutput, StoreError> {
        Job::sqlite(*self, c).map(|output| Box::new(output) as AnyOutput)
    }

    fn postgres<'c>(
        self: Box<Self>,
        pg: &'c PgContext,
        claim: &'c ExternalIdKey,
        now: OffsetDateTime,
    ) -> BoxFuture<'c, Result<ClaimedWork<AnyOutput>, StoreError>> {
        let running = Job::postgres(*self, pg, claim, now);
        Box::pin(async move { Ok(running.await?.map(|output| Box::new(output) as AnyOutput)) })
    }
}

/// Takes the typed output back out of an erased job's box.
pub(crate) fn unerase<T: 'static>(done: ClaimedWork<AnyOutput>) -> ClaimedWork<T> {
    match done {
        ClaimedWork::AlreadyUsed => ClaimedWork::AlreadyUsed,
        ClaimedWork::Claimed(outcome) => ClaimedWork::Claimed(outcome.and_then(|output| {
            output
                .downcast::<T>()
                .map(|output| *output)
                .map_err(|_| StoreError::backend("a job answered another type".to_owned()))
        })),
    }
}

/// Nothing but the claim (services whose work is a read, or a refused request's claim).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoWork;

/// Stores a generated QR (service 47). Fails with
/// [`Constraint::PartnerReferenceNo`](crate::Constraint) when the merchant has a QR with that
/// reference, [`Constraint::QrId`](crate::Constraint) when the `id_qr` is taken.
#[derive(Debug, Clone)]
pub struct InsertQr(pub NewQr);

/// Reads the first page of a merchant-day (service 90) in the claim's transaction; the rest
/// follows from [`Store::list_day_after`](crate::Store::list_day_after).
#[derive(Debug, Clone)]
pub struct FirstListPage {
    /// Whose QRs.
    pub merchant_id: MerchantId,
    /// Which Jakarta day.
    pub day: JakartaDate,
}

/// Expires the merchant's unpaid, unexpired dynamic QR (service 93); race-free: of two
/// concurrent expiries one expires it and the other finds it expired.
#[derive(Debug, Clone)]
pub struct ExpireQr {
    /// The QR's merchant.
    pub merchant_id: MerchantId,
    /// The QR.
    pub id_qr: i64,
    /// When it expires (now).
    pub at: OffsetDateTime,
}

/// Records a payer's payment of a QR (service 50), under the rules of CONTRACT §6.1: first
/// the payer's reference (an earlier payment is answered again, or is inconsistent), then the
/// QR whose payload is `qr_content` byte for byte, then the payment itself, race-free: of
/// twenty concurrent payments of one dynamic QR one is paid.
#[derive(Debug, Clone)]
pub struct RecordPayment {
    /// The partner reporting the payment.
    pub payer: ClientId,
    /// The payer's reference, unique per payer.
    pub partner_reference_no: String,
    /// The QR the payload names (its bill number, tag 62.01); the store checks that the QR's
    /// payload is `qr_content`.
    pub id_qr: i64,
    /// The payload as scanned.
    pub qr_content: String,
    /// The amount paid in sen: mandatory for a static QR, optional (and equal) for a dynamic.
    pub amount_sen: Option<i64>,
    /// The new payment's id ([`Store::next_qr_id`](crate::Store::next_qr_id)).
    pub payment_id: i64,
    /// The id of the notification the payment sends the QR's partner (from the same
    /// generator).
    pub notification_id: i64,
    /// When it is paid (now).
    pub at: OffsetDateTime,
    /// What the payer said about it.
    pub details: PayerDetails,
}

/// Refunds (part of) a payment of the merchant's QR (service 78), under the rules of CONTRACT
/// §6.3: first the partner's refund reference (an earlier refund is answered again, or is
/// inconsistent), then the QR, the payment (the one named, or the QR's only one), its age, and
/// the sum rule, decided by the database: of twenty racing refunds of one payment, those that
/// fit are made and the rest refused, never more than was paid. A blacklisted merchant's
/// payments are refunded alike (money may always go back).
#[derive(Debug, Clone)]
pub struct RefundPayment {
    /// The partner asking (the merchant's, checked by the caller).
    pub client_id: ClientId,
    /// The QR's merchant.
    pub merchant_id: MerchantId,
    /// The QR.
    pub qr: QrReference,
    /// The payment named (`additionalInfo.paymentId`); none: the QR's only payment.
    pub payment_id: Option<i64>,
    /// The partner's refund reference, unique per partner.
    pub partner_refund_no: String,
    /// The amount to refund, in sen (> 0).
    pub amount_sen: i64,
    /// The partner's reason.
    pub reason: Option<String>,
    /// The new refund's id ([`Store::next_qr_id`](crate::Store::next_qr_id)).
    pub refund_no: i64,
    /// The id of the refund's notification, written in the same transaction.
    pub notification_id: i64,
    /// When it is refunded (now).
    pub at: OffsetDateTime,
    /// How long after a payment it may be refunded (`refund-window`).
    pub refund_window: time::Duration,
}

/// Cancels the merchant's unpaid, unexpired dynamic QR (service 77); race-free: of a cancel and
/// a payment of one QR exactly one wins, whichever comes first.
#[derive(Debug, Clone)]
pub struct CancelQr {
    /// The QR's merchant.
    pub merchant_id: MerchantId,
    /// The QR.
    pub qr: QrReference,
    /// The partner's reason, kept with the QR.
    pub reason: String,
    /// When it is cancelled (now).
    pub at: OffsetDateTime,
}

/// A first list page: the items, newest first; fewer than a page's length means the day ends
/// there.
pub type ListPage = Vec<QrSummary>;

macro_rules! jobs {
    ($($job:ty => $output:ty, $sqlite:path, $postgres:path;)*) => {$(
        impl sealed::Sealed for $job {}

        impl Job for $job {
            type Output = $output;

            fn sqlite(self, c: &rusqlite::Connection) -> Result<Self::Output, StoreError> {
                $sqlite(c, self)
            }

            fn postgres<'c>(
                self,
                pg: &'c PgContext,
                claim: &'c ExternalIdKey,
                now: OffsetDateTime,
            ) -> BoxFuture<'c, Result<ClaimedWork<Self::Output>, StoreError>> {
                Box::pin($postgres(pg, claim, now, self))
            }
        }
    )*};
}

jobs! {
    NoWork => (), crate::sqlite::jobs::no_work, crate::postgres::jobs::no_work;
    InsertQr => (), crate::sqlite::jobs::insert_qr, crate::postgres::jobs::insert_qr;
    FirstListPage => ListPage, crate::sqlite::jobs::first_list_page,
        crate::postgres::jobs::first_list_page;
    ExpireQr => ExpireOutcome, crate::sqlite::jobs::expire_qr, crate::postgres::jobs::expire_qr;
    RecordPayment => PaymentOutcome, crate::sqlite::jobs::record_payment,
        crate::postgres::jobs::record_payment;
    RefundPayment => RefundOutcome, crate::sqlite::refunds::refund_payment,
        crate::postgres::refunds::refund_payment;
    CancelQr => CancelOutcome, crate::sqlite::refunds::cancel_qr,
        crate::postgres::refunds::cancel_qr;
}
