//! The SQLite store's statements (PostgreSQL has its own, `postgres/sql.rs`).
//!
//! SQLite reads `$1` as a named parameter and numbers named parameters in order of first
//! appearance, so each statement introduces `$1`, `$2`, … in order and binds positionally.
//! Booleans are 0/1 integers, days `yyyy-mm-dd` text, times Unix milliseconds.

/// Takes node `$1` for holder `$2` until `$3`, unless someone else's lease on it is still live
/// at `$4` (then nothing changes): the upsert's condition decides, atomically.
pub(crate) const NODE_LEASE: &str = "INSERT INTO node_leases (node, holder, expires_at) \
     VALUES ($1, $2, $3) ON CONFLICT (node) DO UPDATE SET holder = excluded.holder, \
     expires_at = excluded.expires_at WHERE node_leases.expires_at < $4";
/// Extends holder `$3`'s lease of node `$2` to `$1`; no row when it was lost.
pub(crate) const NODE_RENEW: &str =
    "UPDATE node_leases SET expires_at = $1 WHERE node = $2 AND holder = $3";
/// Ends holder `$3`'s lease of node `$2`: the row stays, expiring at `$1` (the last id's
/// millisecond), so the number is free only from the next millisecond on.
pub(crate) const NODE_RELEASE: &str =
    "UPDATE node_leases SET expires_at = $1 WHERE node = $2 AND holder = $3";

pub(crate) const SECRET_OFFER: &str =
    "INSERT INTO server_keys (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING";
pub(crate) const SECRET_GET: &str = "SELECT value FROM server_keys WHERE name = $1";
pub(crate) const SECRET_ALL: &str = "SELECT name, value FROM server_keys ORDER BY name";
pub(crate) const SECRET_REPLACE: &str =
    "UPDATE server_keys SET value = $1 WHERE name = $2 AND value = $3";

pub(crate) const PARTNER_INSERT: &str = "INSERT INTO partners (client_id, public_key_pem, \
     client_secret, signature_mode, services, enabled, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, 1, $6, $6)";
pub(crate) const PARTNER_GET: &str = "SELECT * FROM partners WHERE client_id = $1";
pub(crate) const PARTNER_ALL: &str = "SELECT * FROM partners ORDER BY client_id";
pub(crate) const PARTNER_SET_ENABLED: &str =
    "UPDATE partners SET enabled = $1, updated_at = $2 WHERE client_id = $3";
pub(crate) const PARTNER_SET_KEY: &str =
    "UPDATE partners SET public_key_pem = $1, updated_at = $2 WHERE client_id = $3";
pub(crate) const PARTNER_SET_SECRET: &str =
    "UPDATE partners SET client_secret = $1, updated_at = $2 WHERE client_id = $3";
/// Replaces the secret of partner `$3` with `$1` only while it is still `$4` (a rekey racing a
/// rotation).
pub(crate) const PARTNER_REPLACE_SECRET: &str = "UPDATE partners SET client_secret = $1, \
     updated_at = $2 WHERE client_id = $3 AND client_secret = $4";
pub(crate) const PARTNER_SET_SERVICES: &str =
    "UPDATE partners SET services = $1, updated_at = $2 WHERE client_id = $3";
pub(crate) const PARTNER_SET_CALLBACK: &str =
    "UPDATE partners SET callback_url = $1, updated_at = $2 WHERE client_id = $3";

pub(crate) const MERCHANT_INSERT: &str = "INSERT INTO merchants (merchant_id, client_id, name, \
     city, mcc, postal_code, nmid, criteria, blacklisted, created_at, updated_at, pan_account) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $9, $10)";
/// The next PAN account number (`pan.rs`), taken in the writer's transaction.
pub(crate) const PAN_ACCOUNT_NEXT: &str =
    "UPDATE merchant_pan_counter SET last = last + 1 RETURNING last";
/// Merchants from before PANs were allocated, in creation order.
pub(crate) const MERCHANTS_WITHOUT_PAN_ACCOUNT: &str = "SELECT merchant_id FROM merchants \
     WHERE pan_account IS NULL ORDER BY created_at, merchant_id";
pub(crate) const MERCHANT_SET_PAN_ACCOUNT: &str =
    "UPDATE merchants SET pan_account = $1 WHERE merchant_id = $2";
pub(crate) const MERCHANT_WITH_PAN_ACCOUNT: &str =
    "SELECT merchant_id FROM merchants WHERE pan_account = $1";
pub(crate) const MERCHANT_GET: &str = "SELECT * FROM merchants WHERE merchant_id = $1";
pub(crate) const MERCHANT_OF_PARTNER: &str =
    "SELECT * FROM merchants WHERE client_id = $1 ORDER BY merchant_id";
pub(crate) const MERCHANT_ALL: &str = "SELECT * FROM merchants ORDER BY merchant_id";
pub(crate) const MERCHANT_SET_BLACKLIST: &str = "UPDATE merchants SET blacklisted = $1, \
     blacklist_reason = $2, blacklisted_at = $3, updated_at = $4 WHERE merchant_id = $5";

/// Counts one claim of partner `$1` on day `$2` unless it made `$3` already (then nothing
/// changes): `daily-claim-limit`, decided by the upsert's condition.
pub(crate) const CLAIM_COUNT: &str = "INSERT INTO claim_counts (client_id, jakarta_date, claims) \
     VALUES ($1, $2, 1) ON CONFLICT (client_id, jakarta_date) \
     DO UPDATE SET claims = claim_counts.claims + 1 WHERE claim_counts.claims < $3";
/// The counts of days before `$1`.
pub(crate) const CLAIM_COUNTS_PURGE: &str = "DELETE FROM claim_counts WHERE jakarta_date < $1";

/// A QR's row with its latest payment's id (`latest_payment_id`) and refunded sum
/// (`latest_refunded_sen`), `WHERE` the condition given.
macro_rules! qr_where {
    ($condition:literal) => {
        concat!(
            "SELECT q.*, (SELECT p.payment_id FROM payments p WHERE p.id_qr = q.id_qr \
             ORDER BY p.paid_at DESC, p.payment_id DESC LIMIT 1) AS latest_payment_id, \
             (SELECT p.refunded_sen FROM payments p WHERE p.id_qr = q.id_qr \
             ORDER BY p.paid_at DESC, p.payment_id DESC LIMIT 1) AS latest_refunded_sen \
             FROM qr_codes q WHERE ",
            $condition
        )
    };
}

pub(crate) const QR_INSERT: &str = "INSERT INTO qr_codes (id_qr, merchant_id, client_id, \
     partner_reference_no, kind, amount_sen, terminal_id, generated_at, jakarta_date, \
     expires_at, qr_content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
pub(crate) const QR_BY_ID: &str = qr_where!("merchant_id = $1 AND id_qr = $2");
pub(crate) const QR_BY_REFERENCE: &str =
    qr_where!("merchant_id = $1 AND partner_reference_no = $2");
pub(crate) const QR_ANY_BY_ID: &str = qr_where!("id_qr = $1");
/// The first page of a merchant-day (`LIMIT` is `list::LIST_PAGE`, written out: SQLite
/// re-plans a statement on every new value bound to a parameter its plan depends on).
pub(crate) const QR_LIST_DAY_FIRST: &str = "SELECT id_qr, kind, generated_at, expires_at, \
     amount_sen FROM qr_codes WHERE merchant_id = $1 AND jakarta_date = $2 \
     ORDER BY generated_at DESC, id_qr DESC LIMIT 256";
/// The page after the item (`generated_at` `$3`, `id_qr` `$4`); a seek on the same index.
pub(crate) const QR_LIST_DAY_AFTER: &str = "SELECT id_qr, kind, generated_at, expires_at, \
     amount_sen FROM qr_codes WHERE merchant_id = $1 AND jakarta_date = $2 \
     AND generated_at <= $3 AND (generated_at < $3 OR id_qr < $4) \
     ORDER BY generated_at DESC, id_qr DESC LIMIT 256";
/// The conditions live in the UPDATE, so two racing expiries cannot both succeed.
pub(crate) const QR_EXPIRE: &str = "UPDATE qr_codes SET expires_at = $1, cancelled_at = $1 \
     WHERE merchant_id = $2 AND id_qr = $3 AND kind = 'dynamic' AND payment_count = 0 \
     AND cancelled_at IS NULL AND expires_at > $1";
pub(crate) const QR_PAY_DYNAMIC: &str = "UPDATE qr_codes SET paid_at = $1, \
     paid_amount_sen = amount_sen, payment_count = payment_count + 1 \
     WHERE id_qr = $2 AND payment_count = 0 AND cancelled_at IS NULL AND expires_at > $1";
pub(crate) const QR_PAY_STATIC: &str = "UPDATE qr_codes SET paid_at = $1, paid_amount_sen = $2, \
     payment_count = payment_count + 1 WHERE id_qr = $3";

/// The payment a payer's reference made, with its QR's merchant, kind and payload.
pub(crate) const PAYMENT_BY_REFERENCE: &str = "SELECT p.payment_id, p.id_qr, q.merchant_id, \
     p.payer_client_id, p.partner_reference_no, p.amount_sen, p.paid_at, p.issuer_name, \
     p.customer_name, p.rrn, q.kind, q.qr_content FROM payments p \
     JOIN qr_codes q ON q.id_qr = p.id_qr \
     WHERE p.payer_client_id = $1 AND p.partner_reference_no = $2";
/// A new payment.
pub(crate) const PAYMENT_INSERT: &str = "INSERT INTO payments (payment_id, id_qr, \
     payer_client_id, partner_reference_no, amount_sen, paid_at, issuer_name, customer_name, \
     rrn) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
/// Whether a merchant is blacklisted.
pub(crate) const MERCHANT_BLACKLISTED: &str =
    "SELECT blacklisted FROM merchants WHERE merchant_id = $1";

/// The refund a partner's refund reference made, with its QR's reference and merchant.
pub(crate) const REFUND_BY_PARTNER_NO: &str = "SELECT r.*, \
     q.partner_reference_no AS qr_partner_reference_no, q.merchant_id FROM refunds r \
     JOIN qr_codes q ON q.id_qr = r.id_qr WHERE r.client_id = $1 AND r.partner_refund_no = $2";
/// A QR's payments, latest first, at most two: enough to tell "none", "the only one" and
/// "several" apart.
pub(crate) const PAYMENTS_OF_QR: &str = "SELECT p.*, q.merchant_id FROM payments p \
     JOIN qr_codes q ON q.id_qr = p.id_qr WHERE p.id_qr = $1 \
     ORDER BY p.paid_at DESC, p.payment_id DESC LIMIT 2";
/// One payment of a QR.
pub(crate) const PAYMENT_OF_QR: &str = "SELECT p.*, q.merchant_id FROM payments p \
     JOIN qr_codes q ON q.id_qr = p.id_qr WHERE p.id_qr = $1 AND p.payment_id = $2";
/// Adds refund `$1` to payment `$2` only if the sum stays within its amount: the sum rule is the
/// UPDATE's condition, so racing refunds cannot pass it. No row: it would.
pub(crate) const PAYMENT_ADD_REFUND: &str = "UPDATE payments SET refunded_sen = refunded_sen + $1 \
     WHERE payment_id = $2 AND refunded_sen + $1 <= amount_sen RETURNING refunded_sen, amount_sen";
/// A new refund.
pub(crate) const REFUND_INSERT: &str = "INSERT INTO refunds (refund_no, payment_id, id_qr, \
     client_id, partner_refund_no, amount_sen, reason, refunded_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
/// Cancels (service 77) an unpaid, unexpired, uncancelled dynamic QR at `$1`: the conditions
/// live in the UPDATE, so of a cancel and a payment racing exactly one wins.
pub(crate) const QR_CANCEL: &str = "UPDATE qr_codes SET expires_at = $1, cancelled_at = $1, \
     cancel_reason = $2 WHERE id_qr = $3 AND kind = 'dynamic' AND payment_count = 0 \
     AND cancelled_at IS NULL AND expires_at > $1";

/// Rows per purge statement: the purge goes in batches so that no single statement holds the
/// write lock for long.
pub(crate) const PURGE_BATCH: i64 = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_pages_are_list_page_long() {
        let limit = format!("LIMIT {}", crate::list::LIST_PAGE);
        assert!(QR_LIST_DAY_FIRST.ends_with(&limit));
        assert!(QR_LIST_DAY_AFTER.ends_with(&limit));
    }

    /// SQLite's plan for a statement, one line per step.
    fn sqlite_plan(connection: &rusqlite::Connection, sql: &str) -> String {
        let mut statement = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        let values = rusqlite::params!["M1", "2024-06-03", 0_i64, 0_i64];
        let bound = &values[..statement.parameter_count()];
        let steps = statement
            .query_map(bound, |row| row.get::<_, String>(3))
            .unwrap();
        steps.map(Result::unwrap).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn a_merchant_day_is_listed_from_the_covering_index_alone() {
        let mut connection = rusqlite::Connection::open_in_memory().unwrap();
        crate::migrate::run_sqlite(&mut connection).unwrap();
        for sql in [QR_LIST_DAY_FIRST, QR_LIST_DAY_AFTER] {
            let plan = sqlite_plan(&connection, sql);
            // One seek on the merchant-day prefix, no lookup into the rows, no sort step.
            assert!(
                plan.starts_with(
                    "SEARCH qr_codes USING COVERING INDEX qr_codes_by_merchant_day \
                     (merchant_id=? AND jakarta_date=?"
                ),
                "{sql}:\n{plan}"
            );
            assert!(!plan.contains("TEMP B-TREE"), "{sql}:\n{plan}");
        }
    }
}
