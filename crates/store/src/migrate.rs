//! Embedded schema migrations, applied once even when several processes start together.

use crate::StoreError;
use crate::store::Backend;
use sqlx::AnyPool;

/// One numbered schema change.
struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const SQLITE: &[Migration] = &[Migration {
    version: 1,
    name: "init",
    sql: include_str!("../migrations/sqlite/0001_init.sql"),
}];

const POSTGRES: &[Migration] = &[Migration {
    version: 1,
    name: "init",
    sql: include_str!("../migrations/postgres/0001_init.sql"),
}];

/// An arbitrary constant naming snapqris's migration lock among PostgreSQL advisory locks.
const POSTGRES_MIGRATION_LOCK: i64 = 0x534e_4150_5152;

/// Applies every migration the database lacks, in one transaction that holds the backend's
/// exclusive lock: a second process starting at the same moment waits, then finds nothing to do.
pub(crate) async fn run(pool: &AnyPool, backend: Backend) -> Result<(), StoreError> {
    let (mut tx, migrations) = match backend {
        // BEGIN IMMEDIATE takes SQLite's write lock up front, before the first read.
        Backend::Sqlite => (pool.begin_with("BEGIN IMMEDIATE").await?, SQLITE),
        Backend::Postgres => {
            let mut tx = pool.begin().await?;
            // Wrapped so the result column is an integer: `void` has no `Any` type.
            sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) AS locked")
                .bind(POSTGRES_MIGRATION_LOCK)
                .execute(&mut *tx)
                .await?;
            (tx, POSTGRES)
        }
    };
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (\
         version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(&mut *tx)
    .await?;
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
        .fetch_all(&mut *tx)
        .await?;
    for migration in migrations {
        if applied.contains(&migration.version) {
            continue;
        }
        sqlx::raw_sql(migration.sql).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(migration.version)
        .bind(migration.name)
        .bind(crate::rows::to_ms(time::OffsetDateTime::now_utc()))
        .execute(&mut *tx)
        .await?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applied migration"
        );
    }
    tx.commit().await?;
    Ok(())
}
