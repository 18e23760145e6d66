//! The PostgreSQL store: one pool for reads and writes, shared by any number of nodes, through
//! sqlx's native driver (prepared statements, real column types).

mod batch;
mod console;
pub(crate) mod jobs;
mod list;
pub(crate) mod outbox;
pub(crate) mod pans;
pub(crate) mod refunds;
mod sql;
mod store;

pub(crate) use store::PostgresStore;

use crate::{StoreError, StoreOptions};
use batch::ClaimBatcher;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use std::time::Duration;

/// Opens the pool; PostgreSQL takes concurrent writers, so readers and writers share it.
pub(crate) async fn connect(url: &str, options: &StoreOptions) -> Result<PgPool, StoreError> {
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(Duration::from_secs(30))
        .connect(url)
        .await?;
    Ok(pool)
}

/// What a unit of work runs on: the pool, and the batcher that commits concurrent requests'
/// claims together.
#[derive(Debug, Clone)]
#[allow(unreachable_pub)] // named by the sealed `Job` trait; unnameable outside the crate
pub struct PgContext {
    pub(crate) pool: PgPool,
    pub(crate) batcher: ClaimBatcher,
}

impl PgContext {
    /// The context of `pool`, its batching tasks started.
    pub(crate) fn new(pool: PgPool) -> PgContext {
        PgContext {
            batcher: ClaimBatcher::start(pool.clone()),
            pool,
        }
    }
}
