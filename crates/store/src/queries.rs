//! Every statement the stores run, written once with `$N` placeholders.
//!
//! PostgreSQL numbers its parameters `$1…`; SQLite reads `$1` as a named parameter and numbers
//! named parameters in order of first appearance, so each statement here introduces `$1`, `$2`,
//! … in order and both backends bind the same positional arguments.

pub(crate) const NODE_REGISTER: &str =
    "INSERT INTO nodes (started_at) VALUES ($1) RETURNING node_id";

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

pub(crate) const MERCHANT_INSERT: &str = "INSERT INTO merchants (merchant_id, client_id, name, \
     city, mcc, postal_code, nmid, criteria, blacklisted, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $9)";
pub(crate) const MERCHANT_GET: &str = "SELECT * FROM merchants WHERE merchant_id = $1";
pub(crate) const MERCHANT_OF_PARTNER: &str =
    "SELECT * FROM merchants WHERE client_id = $1 ORDER BY merchant_id";
pub(crate) const MERCHANT_ALL: &str = "SELECT * FROM merchants ORDER BY merchant_id";
pub(crate) const MERCHANT_SET_BLACKLIST: &str = "UPDATE merchants SET blacklisted = $1, \
     blacklist_reason = $2, blacklisted_at = $3, updated_at = $4 WHERE merchant_id = $5";

/// zero-to-production's idempotency claim: the primary key decides, not a prior read
/// (PostgreSQL; SQLite appends its claims in arrival order, `sqlite/claims.rs`).
pub(crate) const CLAIM: &str = "INSERT INTO external_ids (client_id, jakarta_date, external_id, \
     claimed_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
pub(crate) const CLAIM_RELEASE: &str = "DELETE FROM external_ids \
     WHERE client_id = $1 AND jakarta_date = $2 AND external_id = $3";
/// Claims of days before `$1`, at most `$2` of them: the purge goes in batches so that no
/// single statement holds the write lock for long.
pub(crate) const CLAIM_PURGE_BATCH: &str = "DELETE FROM external_ids \
     WHERE (client_id, jakarta_date, external_id) IN \
     (SELECT client_id, jakarta_date, external_id FROM external_ids \
      WHERE jakarta_date < $1 LIMIT $2)";

pub(crate) const QR_INSERT: &str = "INSERT INTO qr_codes (id_qr, merchant_id, client_id, \
     partner_reference_no, kind, amount_sen, terminal_id, generated_at, jakarta_date, \
     expires_at, qr_content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
pub(crate) const QR_BY_ID: &str = "SELECT * FROM qr_codes WHERE merchant_id = $1 AND id_qr = $2";
pub(crate) const QR_BY_REFERENCE: &str =
    "SELECT * FROM qr_codes WHERE merchant_id = $1 AND partner_reference_no = $2";
pub(crate) const QR_ANY_BY_ID: &str = "SELECT * FROM qr_codes WHERE id_qr = $1";
/// One merchant-day, newest first, on the `qr_codes_by_merchant_day` index.
pub(crate) const QR_LIST_DAY: &str = "SELECT id_qr, kind, generated_at, expires_at, amount_sen \
     FROM qr_codes WHERE merchant_id = $1 AND jakarta_date = $2 \
     ORDER BY generated_at DESC, id_qr DESC";
/// Rows per page of a merchant-day (the `LIMIT` below, written out: SQLite re-plans a statement
/// on every new value bound to a parameter its plan depends on).
pub(crate) const LIST_PAGE: usize = 256;
/// The first page of a merchant-day.
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

/// Rows per purge statement.
pub(crate) const PURGE_BATCH: i64 = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_pages_are_list_page_long() {
        let limit = format!("LIMIT {LIST_PAGE}");
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
