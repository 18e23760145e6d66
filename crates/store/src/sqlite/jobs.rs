//! The SQLite side of each unit of work (`work.rs`): run by the writer thread right after the
//! claim, inside the claim's transaction.

use super::list::SqliteDay;
use super::sql as q;
use super::statements::{insert_qr as insert_qr_row, read_optional};
use crate::Entity;
use crate::StoreError;
use crate::model::{ExpireOutcome, Payment, PaymentOutcome, PaymentRefusal, QrCode};
use crate::outbox::NewNotification;
use crate::payment::{self, NewPayment, PaymentUpdate};
use crate::rows::{Columns, kind_from_row, payment_from_row, qr_from_row, to_ms};
use crate::work::{ExpireQr, FirstListPage, InsertQr, ListPage, NoWork, RecordPayment};
use rusqlite::{Connection, params};

/// [`NoWork`]: the claim alone.
pub(crate) fn no_work(_: &Connection, _: NoWork) -> Result<(), StoreError> {
    Ok(())
}

/// [`InsertQr`].
pub(crate) fn insert_qr(c: &Connection, job: InsertQr) -> Result<(), StoreError> {
    insert_qr_row(c, &job.0)
}

/// [`FirstListPage`]: read by the writer, inside the claim's transaction (its cache is warm; a
/// reader's starts cold after every commit), and only answered once that commits: what it saw
/// is committed. Later pages come from the readers.
pub(crate) fn first_list_page(c: &Connection, job: FirstListPage) -> Result<ListPage, StoreError> {
    SqliteDay::read_page(c, job.merchant_id.as_str(), &job.day.to_string(), None)
}

/// [`ExpireQr`]: the conditions live in the UPDATE, so two racing expiries cannot both win.
pub(crate) fn expire_qr(c: &Connection, job: ExpireQr) -> Result<ExpireOutcome, StoreError> {
    let merchant_id = job.merchant_id.as_str();
    let values = params![to_ms(job.at), merchant_id, job.id_qr];
    let updated = c.prepare_cached(q::QR_EXPIRE)?.execute(values)? == 1;
    let exists = updated
        || read_optional(c, q::QR_BY_ID, params![merchant_id, job.id_qr], |_| Ok(()))?.is_some();
    Ok(ExpireOutcome::from_update(updated, exists))
}

/// [`RecordPayment`]: the writer runs one job at a time, so what it reads stays true until it
/// commits.
pub(crate) fn record_payment(
    c: &Connection,
    job: RecordPayment,
) -> Result<PaymentOutcome, StoreError> {
    let reference = params![job.payer.as_str(), job.partner_reference_no];
    let earlier = read_optional(c, q::PAYMENT_BY_REFERENCE, reference, |row| {
        Ok((
            payment_from_row(row)?,
            kind_from_row(row)?,
            row.text("qr_content")?,
        ))
    })?;
    if let Some((earlier, kind, content)) = earlier {
        return Ok(payment::repeated(earlier, kind, &content, &job));
    }
    let qr = read_optional(c, q::QR_ANY_BY_ID, [job.id_qr], |row| qr_from_row(row))?;
    let Some(qr) = qr.filter(|qr| qr.qr_content == job.qr_content) else {
        return Ok(PaymentOutcome::Refused(PaymentRefusal::NotFound));
    };
    let blacklisted = read_optional(c, q::MERCHANT_BLACKLISTED, [&qr.merchant_id], |row| {
        row.flag("blacklisted")
    })?;
    if blacklisted == Some(true) {
        return Ok(PaymentOutcome::MerchantBlacklisted);
    }
    Ok(
        match pay(c, &qr, job.amount_sen, NewPayment::of_job(&job))? {
            Ok(made) => PaymentOutcome::Paid(made),
            Err(refusal) => PaymentOutcome::Refused(refusal),
        },
    )
}

/// Pays `qr` (as just read) by the rules of `payment.rs`: the conditional update of the QR,
/// then the payment row.
pub(crate) fn pay(
    c: &Connection,
    qr: &QrCode,
    amount_sen: Option<i64>,
    new: NewPayment,
) -> Result<Result<Payment, PaymentRefusal>, StoreError> {
    let update = match payment::plan(qr, amount_sen) {
        Ok(update) => update,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let at = to_ms(new.at);
    let changed = match update {
        PaymentUpdate::Dynamic => c
            .prepare_cached(q::QR_PAY_DYNAMIC)?
            .execute(params![at, qr.id_qr])?,
        PaymentUpdate::Static { amount_sen } => c
            .prepare_cached(q::QR_PAY_STATIC)?
            .execute(params![at, amount_sen, qr.id_qr])?,
    };
    if changed == 0 {
        let after = read_optional(c, q::QR_ANY_BY_ID, [qr.id_qr], |row| qr_from_row(row))?
            .ok_or(StoreError::NotFound(Entity::Qr))?;
        return Ok(Err(payment::why_not_paid(&after)));
    }
    let notification_id = new.notification_id;
    let made = new.made(qr, update.amount_sen(qr));
    c.prepare_cached(q::PAYMENT_INSERT)?.execute(params![
        made.payment_id,
        made.id_qr,
        made.payer_client_id,
        made.partner_reference_no,
        made.amount_sen,
        at,
        made.details.issuer_name,
        made.details.customer_name,
        made.details.rrn,
    ])?;
    let notification = NewNotification::of_payment(notification_id, qr, &made);
    super::outbox::insert_notification(c, &notification)?;
    Ok(Ok(made))
}
