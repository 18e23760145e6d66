//! The operator console's records (CONTRACT §7): operators, sessions, wrong-password tries and
//! the audit log. The limits are the contract's, enforced by the store so every node applies
//! the same ones.

use crate::StoreError;
use crate::rows::{Columns, from_ms};
use time::{Duration, OffsetDateTime};

/// A session ends this long after its last request.
pub const SESSION_IDLE: Duration = Duration::minutes(30);
/// A session ends this long after its login, however busy.
pub const SESSION_LIFETIME: Duration = Duration::hours(12);
/// Wrong passwords are counted over this window; a locked name or address opens again once
/// its tries have aged out of it.
pub const LOGIN_WINDOW: Duration = Duration::minutes(15);
/// Wrong tries of one operator name within [`LOGIN_WINDOW`] that lock it.
pub const LOCK_NAME_AFTER: u32 = 5;
/// Wrong tries from one client address within [`LOGIN_WINDOW`] that lock it (whatever names
/// it tries: guessing across names is limited too).
pub const LOCK_ADDRESS_AFTER: u32 = 20;

/// A console operator.
#[derive(Clone)]
pub struct Operator {
    /// The login name.
    pub name: String,
    /// The Argon2id hash of the password, as a PHC string.
    pub password_hash: String,
    /// When the operator was added.
    pub created_at: OffsetDateTime,
}

// Hand-written so that a logged operator never prints its password hash.
impl std::fmt::Debug for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operator")
            .field("name", &self.name)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// A live console session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    /// The operator logged in.
    pub operator: String,
    /// When the operator logged in.
    pub created_at: OffsetDateTime,
    /// The session's latest request (this one, once touched).
    pub last_seen: OffsetDateTime,
}

/// Whether a login attempt may check its password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginGate {
    /// Admitted; the attempt is counted as a wrong try until
    /// [`clear_login_failures`](crate::Store::clear_login_failures) says it was right.
    Admitted,
    /// The name has [`LOCK_NAME_AFTER`] wrong tries in the window.
    NameLocked,
    /// The address has [`LOCK_ADDRESS_AFTER`] wrong tries in the window.
    AddressLocked,
}

/// An operator's action, to record in the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    /// Who acted.
    pub operator: String,
    /// What they did, e.g. `partner.disable`, `merchant.blacklist`, `notification.resend`.
    pub action: String,
    /// What it was done to (a client id, a merchant id, a notification id).
    pub target: String,
    /// More about it (a blacklisting's reason); empty when there is nothing more.
    pub detail: String,
    /// When.
    pub at: OffsetDateTime,
}

/// One audit log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// The entry's number, increasing.
    pub id: i64,
    /// The action as recorded.
    pub entry: NewAuditEntry,
}

/// The console's statements: the same text on both backends (numbered parameters, `RETURNING`
/// and `COUNT(*)` mean the same on SQLite and PostgreSQL; times are Unix milliseconds).
pub(crate) mod sql {
    pub(crate) const OPERATOR_INSERT: &str =
        "INSERT INTO operators (name, password_hash, created_at) VALUES ($1, $2, $3)";
    pub(crate) const OPERATOR_GET: &str =
        "SELECT name, password_hash, created_at FROM operators WHERE name = $1";
    /// The operator's sessions go with it (`ON DELETE CASCADE`).
    pub(crate) const OPERATOR_DELETE: &str = "DELETE FROM operators WHERE name = $1";
    pub(crate) const SESSION_INSERT: &str = "INSERT INTO console_sessions \
         (id_hash, operator, created_at, last_seen) VALUES ($1, $2, $3, $3)";
    /// Sessions idle since `$1` or started before `$2`: ended.
    pub(crate) const SESSION_PURGE: &str =
        "DELETE FROM console_sessions WHERE last_seen <= $1 OR created_at <= $2";
    /// Touches session `$2` at `$1` if it was seen after `$3` and started after `$4`.
    pub(crate) const SESSION_TOUCH: &str = "UPDATE console_sessions SET last_seen = $1 \
         WHERE id_hash = $2 AND last_seen > $3 AND created_at > $4 \
         RETURNING operator, created_at, last_seen";
    pub(crate) const SESSION_DELETE: &str = "DELETE FROM console_sessions WHERE id_hash = $1";
    pub(crate) const FAILURES_PURGE: &str = "DELETE FROM login_failures WHERE at <= $1";
    pub(crate) const FAILURES_OF_NAME: &str =
        "SELECT COUNT(*) AS n FROM login_failures WHERE name = $1 AND at > $2";
    pub(crate) const FAILURES_OF_ADDRESS: &str =
        "SELECT COUNT(*) AS n FROM login_failures WHERE address = $1 AND at > $2";
    pub(crate) const FAILURE_INSERT: &str =
        "INSERT INTO login_failures (name, address, at) VALUES ($1, $2, $3)";
    pub(crate) const FAILURES_CLEAR: &str = "DELETE FROM login_failures WHERE name = $1";
    pub(crate) const AUDIT_INSERT: &str = "INSERT INTO audit_log \
         (operator, action, target, detail, at) VALUES ($1, $2, $3, $4, $5) RETURNING id";
    /// Newest first, below id `$1`, at most `$2`.
    pub(crate) const AUDIT_PAGE: &str = "SELECT id, operator, action, target, detail, at \
         FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2";
}

/// The gate's verdict from the wrong tries counted in the window.
pub(crate) fn gate(by_name: i64, by_address: i64) -> LoginGate {
    if by_name >= i64::from(LOCK_NAME_AFTER) {
        LoginGate::NameLocked
    } else if by_address >= i64::from(LOCK_ADDRESS_AFTER) {
        LoginGate::AddressLocked
    } else {
        LoginGate::Admitted
    }
}

/// The moments before which a session has ended, at `now`: (idle since, started before).
pub(crate) fn session_cutoffs(now: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
    (now - SESSION_IDLE, now - SESSION_LIFETIME)
}

pub(crate) fn operator_from_row(row: &impl Columns) -> Result<Operator, StoreError> {
    Ok(Operator {
        name: row.text("name")?,
        password_hash: row.text("password_hash")?,
        created_at: from_ms(row.int("created_at")?)?,
    })
}

pub(crate) fn session_from_row(row: &impl Columns) -> Result<ConsoleSession, StoreError> {
    Ok(ConsoleSession {
        operator: row.text("operator")?,
        created_at: from_ms(row.int("created_at")?)?,
        last_seen: from_ms(row.int("last_seen")?)?,
    })
}

pub(crate) fn audit_from_row(row: &impl Columns) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        id: row.int("id")?,
        entry: NewAuditEntry {
            operator: row.text("operator")?,
            action: row.text("action")?,
            target: row.text("target")?,
            detail: row.text("detail")?,
            at: from_ms(row.int("at")?)?,
        },
    })
}
