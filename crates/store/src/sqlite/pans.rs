//! Merchant PAN account numbers on SQLite (`pan.rs`): a counter row bumped in the writer's
//! transaction, the unique index on `merchants.pan_account` deciding.

use super::sql as q;
use super::statements::constraint_error;
use crate::error::{SqliteConstraintKind, sqlite_constraint};
use crate::model::NewMerchant;
use crate::pan::{TRIES, is_pan_account_clash, log_renumbered, no_free_number};
use crate::rows::to_ms;
use crate::{Constraint, Entity, StoreError};
use rusqlite::{Connection, params};
use snapqris_qris::legacy_account_number;
use time::OffsetDateTime;

/// Whether `error` is the unique index on `merchants.pan_account` refusing a number.
fn is_clash(error: &rusqlite::Error) -> bool {
    sqlite_constraint(error).is_some_and(|found| {
        found.kind == SqliteConstraintKind::Unique && is_pan_account_clash(&found.message)
    })
}

/// The next number of the counter.
fn next_number(c: &Connection) -> Result<i64, StoreError> {
    Ok(c.prepare_cached(q::PAN_ACCOUNT_NEXT)?
        .query_row([], |row| row.get(0))?)
}

/// Inserts `merchant` with the next free PAN account number.
pub(crate) fn insert_merchant(
    c: &Connection,
    merchant: &NewMerchant,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    for _ in 0..TRIES {
        let values = params![
            merchant.merchant_id.as_str(),
            merchant.client_id.as_str(),
            merchant.name,
            merchant.city,
            merchant.mcc,
            merchant.postal_code,
            merchant.nmid,
            merchant.criteria,
            to_ms(now),
            next_number(c)?,
        ];
        match c.prepare_cached(q::MERCHANT_INSERT)?.execute(values) {
            Ok(_) => return Ok(()),
            // Kept by a merchant from before: the counter has moved on, try its next number.
            Err(e) if is_clash(&e) => continue,
            Err(e) => {
                return Err(constraint_error(
                    e,
                    |_| Some(Constraint::MerchantId),
                    Entity::Partner,
                ));
            }
        }
    }
    Err(no_free_number())
}

/// Numbers the merchants from before PANs were allocated (none after the first run), inside
/// the migrations' `BEGIN IMMEDIATE` transaction: a second process waits, then finds none.
pub(crate) fn number_merchants_from_before(c: &Connection) -> Result<(), StoreError> {
    let waiting = c
        .prepare(q::MERCHANTS_WITHOUT_PAN_ACCOUNT)?
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<Result<Vec<String>, _>>()?;
    for merchant_id in waiting {
        let legacy = legacy_account_number(&merchant_id);
        match c.execute(q::MERCHANT_SET_PAN_ACCOUNT, params![legacy, merchant_id]) {
            Ok(_) => continue,
            Err(e) if is_clash(&e) => {}
            Err(e) => return Err(e.into()),
        }
        let kept_by: String =
            c.query_row(q::MERCHANT_WITH_PAN_ACCOUNT, [legacy], |row| row.get(0))?;
        let account = renumber(c, &merchant_id)?;
        log_renumbered(&merchant_id, &kept_by, legacy, account);
    }
    Ok(())
}

/// Gives `merchant_id` the next free number of the counter.
fn renumber(c: &Connection, merchant_id: &str) -> Result<i64, StoreError> {
    for _ in 0..TRIES {
        let account = next_number(c)?;
        match c.execute(q::MERCHANT_SET_PAN_ACCOUNT, params![account, merchant_id]) {
            Ok(_) => return Ok(account),
            Err(e) if is_clash(&e) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(no_free_number())
}
