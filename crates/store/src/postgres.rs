//! PostgreSQL connection set-up: one pool for reads and writes.

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
