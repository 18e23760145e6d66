//! The PostgreSQL store: one pool for reads and writes, shared by any number of nodes.

mod store;

pub(crate) use store::PostgresStore;

use crate::{StoreError, StoreOptions};
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use std::time::Duration;

/// Opens the pool; PostgreSQL takes concurrent writers, so readers and writers share it.
pub(crate) async fn connect(url: &str, options: &StoreOptions) -> Result<AnyPool, StoreError> {
    let pool = AnyPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(Duration::from_secs(30))
        .connect(url)
        .await?;
    Ok(pool)
}
