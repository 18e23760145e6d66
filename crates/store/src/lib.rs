//! Persistence for snapqris: partners, merchants, QR codes and `X-EXTERNAL-ID` claims.
//!
//! [`Store`] is the interface handlers and the CLI use; [`connect`] opens the backend named by
//! a URL (`sqlite://…` or `postgres://…`), applies the embedded migrations and returns it.
//! A request's `X-EXTERNAL-ID` claim and its writes commit together as one unit of work
//! (`Store::claim_then` with a [`Job`], `work.rs`). Each backend has its own statements:
//! SQLite through synchronous rusqlite calls on our own threads (`sqlite/`), PostgreSQL through
//! sqlx's native driver (`postgres/`). Every uniqueness rule is a database constraint, so
//! guarantees hold across any number of processes sharing one database.
//!
//! ```no_run
//! # async fn example() -> Result<(), snapqris_store::StoreError> {
//! let store = snapqris_store::connect("sqlite://snapqris.db", &Default::default()).await?;
//! store.ping().await?;
//! for partner in store.partners().await? {
//!     println!("{}", partner.client_id);
//! }
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod console;
mod error;
mod ids;
mod list;
mod migrate;
mod model;
mod node;
mod outbox;
mod pan;
mod payment;
mod postgres;
mod refund;
mod rows;
mod sealed;
mod sealed_store;
mod sqlite;
mod store;
mod work;

pub use crate::console::{
    AuditEntry, ConsoleSession, LOCK_ADDRESS_AFTER, LOCK_NAME_AFTER, LOGIN_WINDOW, LoginGate,
    NewAuditEntry, Operator, SESSION_IDLE, SESSION_LIFETIME,
};
pub use crate::error::{Constraint, Entity, StoreError};
pub use crate::model::{
    Blacklisting, CancelOutcome, Claim, ExpireOutcome, ExternalIdKey, Merchant, NewMerchant,
    NewPartner, NewQr, Partner, PartnerChange, PayerDetails, Payment, PaymentOutcome,
    PaymentRefusal, QrCode, QrKind, QrReference, QrSummary, Refund, RefundOutcome, RefundRefusal,
    SandboxPayment, SignatureMode,
};
pub use crate::node::{LEASE_TTL, NodeIds, NodeLease, RENEW_EVERY, lease_node};
pub use crate::outbox::{
    AttemptOutcome, FinishedAttempt, LeasedNotification, NotificationAttempt, NotificationBacklog,
    NotificationCounts, NotificationDetail, NotificationEvent, NotificationFilter,
    NotificationStatus, NotificationSummary,
};
pub use crate::sealed::{MASTER_KEY_LEN, MasterKey, SealError};
pub use crate::sealed_store::Rekeyed;
pub use crate::store::{PoolUsage, QrStream, Store};
pub use crate::work::{
    CancelQr, ClaimedWork, ExpireQr, FirstListPage, InsertQr, Job, ListPage, NoWork, RecordPayment,
    RefundPayment,
};

use std::sync::Arc;

/// How hard a commit works to survive a crash (CONTRACT §3 `durability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// A committed write survives the process being killed.
    #[default]
    Process,
    /// A committed write also survives power loss (fsync on every commit).
    Power,
}

/// Tuning for [`connect`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Crash durability of commits (SQLite; PostgreSQL keeps its own `synchronous_commit`).
    pub durability: Durability,
    /// Largest connection pool (PostgreSQL; SQLite keeps one writer and a few readers).
    pub max_connections: u32,
    /// Seals client secrets and shared secrets at rest (CONTRACT §8); without it they are
    /// stored in clear, and a sealed value found in the database is refused.
    pub master_key: Option<MasterKey>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            durability: Durability::Process,
            max_connections: 16,
            master_key: None,
        }
    }
}

/// Opens the store at `url`, applying pending migrations first; fails when a sealed secret in
/// it does not open under `options.master_key` (or there is none to open it).
pub async fn connect(url: &str, options: &StoreOptions) -> Result<Arc<dyn Store>, StoreError> {
    let backend = open_backend(url, options).await?;
    let sealed = sealed_store::SealedStore::open(backend, options.master_key.clone()).await?;
    Ok(Arc::new(sealed))
}

/// Seals every secret of the store at `url` stored in clear under `options.master_key`, and
/// re-seals under it those that only `previous` opens (`admin rekey`); running it again
/// changes nothing.
pub async fn rekey(
    url: &str,
    options: &StoreOptions,
    previous: Option<&MasterKey>,
) -> Result<Rekeyed, StoreError> {
    let key = options.master_key.as_ref().ok_or_else(|| {
        StoreError::Secret("sealing the secrets needs a master key (--master-key-file)".into())
    })?;
    let backend = open_backend(url, options).await?;
    let now = time::OffsetDateTime::now_utc();
    sealed_store::rekey(&*backend, key, previous, now).await
}

/// The backend at `url`, migrated, its secrets as stored.
async fn open_backend(url: &str, options: &StoreOptions) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        let location = sqlite::Location::parse(url)?;
        Ok(Arc::new(
            sqlite::SqliteStore::open(location, options).await?,
        ))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let pool = postgres::connect(url, options).await?;
        migrate::run_postgres(&pool).await?;
        Ok(Arc::new(postgres::PostgresStore::open(pool)))
    } else {
        Err(StoreError::UnsupportedUrl(
            url.split(':').next().unwrap_or("").to_owned(),
        ))
    }
}
