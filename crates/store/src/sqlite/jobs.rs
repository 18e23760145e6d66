//! The SQLite side of each unit of work (`work.rs`): run by the writer thread right after the
//! claim, inside the claim's transaction.

use super::list::SqliteDay;
use super::sql as q;
use super::statements::{insert_qr as insert_qr_row, read_optional};
use crate::StoreError;
use crate::model::ExpireOutcome;
use crate::rows::to_ms;
use crate::work::{ExpireQr, FirstListPage, InsertQr, ListPage, NoWork};
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
