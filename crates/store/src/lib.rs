//! Persistence for snapqris: partners, merchants, QR codes and `X-EXTERNAL-ID` claims.
//!
//! [`Store`] is the interface handlers and the CLI use; [`connect`] opens the backend named by
//! a URL (`sqlite://…` or `postgres://…`), applies the embedded migrations and returns it.
//! Both backends run the same statements (`queries.rs`); SQLite through synchronous calls on
//! our own threads (`sqlite/`), PostgreSQL through sqlx (`postgres/`). Every uniqueness rule is
//! a database constraint, so guarantees hold across any number of processes sharing one
//! database.
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

mod error;
mod ids;
mod migrate;
mod model;
mod payment;
mod postgres;
mod queries;
mod rows;
mod sqlite;
mod store;

pub use crate::error::{Constraint, Entity, StoreError};
pub use crate::model::{
    Blacklisting, Claim, ClaimedWork, ExpireOutcome, ExternalIdKey, Merchant, NewMerchant,
    NewPartner, NewQr, Partner, PaymentRefusal, QrCode, QrKind, QrSummary, SignatureMode,
};
pub use crate::store::{PoolUsage, QrStream, Store};

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
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            durability: Durability::Process,
            max_connections: 16,
        }
    }
}

/// Opens the store at `url`, applying pending migrations first.
pub async fn connect(url: &str, options: &StoreOptions) -> Result<Arc<dyn Store>, StoreError> {
    let now = time::OffsetDateTime::now_utc();
    if url.starts_with("sqlite:") {
        let location = sqlite::Location::parse(url)?;
        Ok(Arc::new(
            sqlite::SqliteStore::open(location, options, now).await?,
        ))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        sqlx::any::install_default_drivers();
        let pool = postgres::connect(url, options).await?;
        migrate::run_postgres(&pool).await?;
        Ok(Arc::new(postgres::PostgresStore::open(pool, now).await?))
    } else {
        Err(StoreError::UnsupportedUrl(
            url.split(':').next().unwrap_or("").to_owned(),
        ))
    }
}
