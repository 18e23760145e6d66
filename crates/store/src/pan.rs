//! Merchant PAN account numbers (CONTRACT §8: no two merchants ever share a PAN).
//!
//! A merchant's PAN (tag 26.01) is the NNS, its account number in 9 digits and a Luhn digit
//! (`snapqris_qris::merchant_pan`). New merchants take the next number of a counter (SQLite) or
//! a sequence (PostgreSQL) in the statement or transaction that inserts them, and a unique
//! constraint on the column decides: a number already held (by a merchant from before, which
//! kept its derived one) is skipped for the next. Merchants from before the migration are
//! numbered once, right after it, in its transaction (each backend's `pans.rs`): in creation
//! order each keeps the number its PAN was derived from
//! ([`legacy_account_number`](snapqris_qris::legacy_account_number)) unless an earlier one has
//! it; then it takes a fresh number, and a warning names both merchants.

use crate::StoreError;

/// Most numbers one allocation tries. A number is taken only when a merchant from before kept
/// it as its derived number: a chance of about 10⁻⁹ per merchant, never many in a row.
pub(crate) const TRIES: usize = 1000;

/// The error when [`TRIES`] numbers in a row were taken.
pub(crate) fn no_free_number() -> StoreError {
    StoreError::backend(format!(
        "no free merchant PAN account number in {TRIES} tries"
    ))
}

/// Says that `merchant_id`'s derived number `legacy` was `kept_by` an earlier merchant, so its
/// PAN changes to the one of `account`.
pub(crate) fn log_renumbered(merchant_id: &str, kept_by: &str, legacy: u32, account: i64) {
    tracing::warn!(
        merchant_id,
        kept_by,
        old_account = format_args!("{legacy:09}"),
        new_account = format_args!("{account:09}"),
        "merchant PAN collided with an earlier merchant's: it now has a new PAN (tag 26.01 = \
         acquirer NNS, then new_account, then a Luhn digit); tell settlement"
    );
}

/// Whether a unique violation was the PAN account number's (the constraint or index on
/// `merchants.pan_account`), not the merchant id's.
pub(crate) fn is_pan_account_clash(constraint_or_message: &str) -> bool {
    constraint_or_message.contains("pan_account")
}
