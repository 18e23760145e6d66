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
    /// The database failed.
    #[error("database error")]
    Backend(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        StoreError::Backend(error)
    }
}

impl StoreError {
    /// Whether `error` is a unique-key violation (any backend).
    pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
        matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
    }

    /// Whether `error` is a foreign-key violation (any backend).
    pub(crate) fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
        matches!(error, sqlx::Error::Database(db) if db.is_foreign_key_violation())
    }
}
