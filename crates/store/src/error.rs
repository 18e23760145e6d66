//! The store's error type.

/// What a store operation refers to when it finds nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Entity {
    /// A partner (client id).
    Partner,
    /// A merchant.
    Merchant,
    /// A QR code.
    Qr,
    /// A notification (`admin notify show|resend`).
    Notification,
    /// A console operator (by name).
    Operator,
}

/// Which uniqueness rule a write broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Constraint {
    /// The client id is registered already.
    ClientId,
    /// The merchant id is registered already.
    MerchantId,
    /// The merchant already has a QR with this `partnerReferenceNo`.
    PartnerReferenceNo,
    /// The `id_qr` is taken (two nodes shared a node number: the caller retries with a fresh
    /// id).
    QrId,
    /// A console operator has this name already.
    OperatorName,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The referenced record does not exist.
    #[error("{0:?} not found")]
    NotFound(Entity),
    /// A uniqueness rule refused the write.
    #[error("{0:?} already exists")]
    Conflict(Constraint),
    /// The database URL is not one this store understands.
    #[error("unsupported database URL (expected sqlite://… or postgres://…): {0}")]
    UnsupportedUrl(String),
    /// A stored value could not be read back (the database was edited by hand?).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The store has more work waiting than it takes (CONTRACT §8): refused at once, nothing
    /// written.
    #[error("the store is overloaded")]
    Overloaded,
    /// A stored secret cannot be used: it is sealed and no master key was given, or it does
    /// not open under the one given (CONTRACT §8).
    #[error("{0}")]
    Secret(String),
    /// The database failed (the source is the driver's error).
    #[error("database error")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        StoreError::Backend(Box::new(error))
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::Backend(Box::new(error))
    }
}

impl StoreError {
    /// A database failure described in words (a failed commit reported to every write in it).
    pub(crate) fn backend(message: String) -> Self {
        StoreError::Backend(message.into())
    }

    /// Whether `error` is a unique-key violation (any backend).
    pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
        matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
    }

    /// Whether `error` is a foreign-key violation (any backend).
    pub(crate) fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
        matches!(error, sqlx::Error::Database(db) if db.is_foreign_key_violation())
    }
}

/// The SQLite constraint a failed statement broke: `Some("UNIQUE …")`-style detail is in the
/// message, the kind in the extended result code.
pub(crate) fn sqlite_constraint(error: &rusqlite::Error) -> Option<SqliteConstraint> {
    let rusqlite::Error::SqliteFailure(failure, message) = error else {
        return None;
    };
    let kind = match failure.extended_code {
        rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
            SqliteConstraintKind::Unique
        }
        rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => SqliteConstraintKind::ForeignKey,
        _ => return None,
    };
    Some(SqliteConstraint {
        kind,
        message: message.clone().unwrap_or_default(),
    })
}

/// Which kind of SQLite constraint refused a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SqliteConstraintKind {
    /// A UNIQUE or PRIMARY KEY constraint.
    Unique,
    /// A FOREIGN KEY constraint.
    ForeignKey,
}

/// A constraint violation reported by SQLite.
#[derive(Debug, Clone)]
pub(crate) struct SqliteConstraint {
    /// Its kind.
    pub(crate) kind: SqliteConstraintKind,
    /// SQLite's message, e.g. `UNIQUE constraint failed: qr_codes.merchant_id, …`.
    pub(crate) message: String,
}
