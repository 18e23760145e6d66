//! Merchant PAN account numbers on PostgreSQL (`pan.rs`): a sequence, the unique constraint
//! `merchants_pan_account` deciding.

use super::sql as q;
use crate::model::NewMerchant;
use crate::pan::{TRIES, is_pan_account_clash, log_renumbered, no_free_number};
use crate::rows::to_ms;
use crate::{Constraint, Entity, StoreError};
use snapqris_qris::legacy_account_number;
use sqlx::{Acquire, PgConnection, PgPool};
use time::OffsetDateTime;

/// Whether `error` is the unique constraint on `merchants.pan_account` refusing a number.
fn is_clash(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db)
        if db.is_unique_violation() && db.constraint().is_some_and(is_pan_account_clash))
}

/// Inserts `merchant` with the next free PAN account number (the sequence's, in the insert).
pub(crate) async fn insert_merchant(
    pool: &PgPool,
    merchant: &NewMerchant,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    for _ in 0..TRIES {
        let result = sqlx::query(q::MERCHANT_INSERT)
            .bind(merchant.merchant_id.as_str().to_owned())
            .bind(merchant.client_id.as_str().to_owned())
            .bind(merchant.name.clone())
            .bind(merchant.city.clone())
            .bind(merchant.mcc.clone())
            .bind(merchant.postal_code.clone())
            .bind(merchant.nmid.clone())
            .bind(merchant.criteria.clone())
            .bind(to_ms(now))
            .execute(pool)
            .await;
        match result {
            Ok(_) => return Ok(()),
            // Kept by a merchant from before: the sequence has moved on, try its next number.
            Err(e) if is_clash(&e) => continue,
            Err(e) if StoreError::is_unique_violation(&e) => {
                return Err(StoreError::Conflict(Constraint::MerchantId));
            }
            Err(e) if StoreError::is_foreign_key_violation(&e) => {
                return Err(StoreError::NotFound(Entity::Partner));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(no_free_number())
}

/// Numbers the merchants from before PANs were allocated (none after the first run), in the
/// migrations' transaction under their advisory lock: a second process waits, then finds none.
/// Each try runs in a savepoint, so a refused number leaves the transaction usable.
pub(crate) async fn number_merchants_from_before(c: &mut PgConnection) -> Result<(), StoreError> {
    let waiting: Vec<String> = sqlx::query_scalar(q::MERCHANTS_WITHOUT_PAN_ACCOUNT)
        .fetch_all(&mut *c)
        .await?;
    for merchant_id in waiting {
        let legacy = legacy_account_number(&merchant_id);
        let mut attempt = c.begin().await?;
        let kept = sqlx::query(q::MERCHANT_SET_PAN_ACCOUNT)
            .bind(i64::from(legacy))
            .bind(&merchant_id)
            .execute(&mut *attempt)
            .await;
        match kept {
            Ok(_) => {
                attempt.commit().await?;
                continue;
            }
            Err(e) if is_clash(&e) => attempt.rollback().await?,
            Err(e) => return Err(e.into()),
        }
        let kept_by: String = sqlx::query_scalar(q::MERCHANT_WITH_PAN_ACCOUNT)
            .bind(i64::from(legacy))
            .fetch_one(&mut *c)
            .await?;
        let account = renumber(c, &merchant_id).await?;
        log_renumbered(&merchant_id, &kept_by, legacy, account);
    }
    Ok(())
}

/// Gives `merchant_id` the next free number of the sequence.
async fn renumber(c: &mut PgConnection, merchant_id: &str) -> Result<i64, StoreError> {
    for _ in 0..TRIES {
        let mut attempt = c.begin().await?;
        let account = sqlx::query_scalar(q::MERCHANT_SET_NEXT_PAN_ACCOUNT)
            .bind(merchant_id)
            .fetch_one(&mut *attempt)
            .await;
        match account {
            Ok(account) => {
                attempt.commit().await?;
                return Ok(account);
            }
            Err(e) if is_clash(&e) => attempt.rollback().await?,
            Err(e) => return Err(e.into()),
        }
    }
    Err(no_free_number())
}
