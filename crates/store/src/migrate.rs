//! Embedded schema migrations, applied once even when several processes start together.

use crate::StoreError;
use crate::rows::to_ms;
use sqlx::PgPool;

/// One numbered schema change.
struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/sqlite/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "tighter_hot_tables",
        sql: include_str!("../migrations/sqlite/0002_tighter_hot_tables.sql"),
    },
    Migration {
        version: 3,
        name: "covering_list_index",
        sql: include_str!("../migrations/sqlite/0003_covering_list_index.sql"),
    },
    Migration {
        version: 4,
        name: "claims_in_arrival_order",
        sql: include_str!("../migrations/sqlite/0004_claims_in_arrival_order.sql"),
    },
    Migration {
        version: 5,
        name: "node_leases",
        sql: include_str!("../migrations/sqlite/0005_node_leases.sql"),
    },
    Migration {
        version: 6,
        name: "merchant_pans",
        sql: include_str!("../migrations/sqlite/0006_merchant_pans.sql"),
    },
    Migration {
        version: 7,
        name: "claim_counts",
        sql: include_str!("../migrations/sqlite/0007_claim_counts.sql"),
    },
    Migration {
        version: 8,
        name: "payments",
        sql: include_str!("../migrations/sqlite/0008_payments.sql"),
    },
    Migration {
        version: 9,
        name: "partner_callbacks",
        sql: include_str!("../migrations/sqlite/0009_partner_callbacks.sql"),
    },
    Migration {
        version: 10,
        name: "notifications",
        sql: include_str!("../migrations/sqlite/0010_notifications.sql"),
    },
    Migration {
        version: 11,
        name: "refunds",
        sql: include_str!("../migrations/sqlite/0011_refunds.sql"),
    },
    Migration {
        version: 12,
        name: "console",
        sql: include_str!("../migrations/sqlite/0012_console.sql"),
    },
    Migration {
        version: 13,
        name: "partner_due",
        sql: include_str!("../migrations/sqlite/0013_partner_due.sql"),
    },
];

const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "covering_list_index",
        sql: include_str!("../migrations/postgres/0002_covering_list_index.sql"),
    },
    Migration {
        version: 3,
        name: "native_types",
        sql: include_str!("../migrations/postgres/0003_native_types.sql"),
    },
    Migration {
        version: 4,
        name: "node_leases",
        sql: include_str!("../migrations/postgres/0004_node_leases.sql"),
    },
    Migration {
        version: 5,
        name: "merchant_pans",
        sql: include_str!("../migrations/postgres/0005_merchant_pans.sql"),
    },
    Migration {
        version: 6,
        name: "claim_counts",
        sql: include_str!("../migrations/postgres/0006_claim_counts.sql"),
    },
    Migration {
        version: 7,
        name: "payments",
        sql: include_str!("../migrations/postgres/0007_payments.sql"),
    },
    Migration {
        version: 8,
        name: "partner_callbacks",
        sql: include_str!("../migrations/postgres/0008_partner_callbacks.sql"),
    },
    Migration {
        version: 9,
        name: "notifications",
        sql: include_str!("../migrations/postgres/0009_notifications.sql"),
    },
    Migration {
        version: 10,
        name: "refunds",
        sql: include_str!("../migrations/postgres/0010_refunds.sql"),
    },
    Migration {
        version: 11,
        name: "console",
        sql: include_str!("../migrations/postgres/0011_console.sql"),
    },
    Migration {
        version: 12,
        name: "partner_due",
        sql: include_str!("../migrations/postgres/0012_partner_due.sql"),
    },
];

const CREATE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (\
     version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";
const APPLIED: &str = "SELECT version FROM schema_migrations";
const RECORD: &str =
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)";

/// An arbitrary constant naming snapqris's migration lock among PostgreSQL advisory locks.
const POSTGRES_MIGRATION_LOCK: i64 = 0x534e_4150_5152;

fn log_applied(migration: &Migration) {
    tracing::info!(
        version = migration.version,
        name = migration.name,
        "applied migration"
    );
}

/// Applies every PostgreSQL migration the database lacks, in one transaction holding an
/// advisory lock: a second process starting at the same moment waits, then finds nothing to do.
/// Merchants from before PAN allocation are numbered in the same transaction (`pan.rs`).
pub(crate) async fn run_postgres(pool: &PgPool) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    // `CREATE TABLE IF NOT EXISTS` of a table that exists raises a NOTICE, which sqlx logs:
    // a refused start would then print more than its one error line.
    sqlx::query("SET LOCAL client_min_messages = warning")
        .execute(&mut *tx)
        .await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(POSTGRES_MIGRATION_LOCK)
        .execute(&mut *tx)
        .await?;
    sqlx::raw_sql(CREATE_MIGRATIONS_TABLE)
        .execute(&mut *tx)
        .await?;
    let applied: Vec<i64> = sqlx::query_scalar(APPLIED).fetch_all(&mut *tx).await?;
    for migration in POSTGRES {
        if applied.contains(&migration.version) {
            continue;
        }
        sqlx::raw_sql(migration.sql).execute(&mut *tx).await?;
        sqlx::query(RECORD)
            .bind(migration.version)
            .bind(migration.name)
            .bind(to_ms(time::OffsetDateTime::now_utc()))
            .execute(&mut *tx)
            .await?;
        log_applied(migration);
    }
    crate::postgres::pans::number_merchants_from_before(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Applies every SQLite migration the database lacks, in one `BEGIN IMMEDIATE` transaction:
/// it takes SQLite's write lock before the first read, so a second process waits, then finds
/// nothing to do. Merchants from before PAN allocation are numbered in the same transaction
/// (`pan.rs`).
pub(crate) fn run_sqlite(connection: &mut rusqlite::Connection) -> Result<(), StoreError> {
    let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute_batch(CREATE_MIGRATIONS_TABLE)?;
    let applied = tx
        .prepare(APPLIED)?
        .query_map([], |row| row.get::<_, i64>(0))?
        .collect::<Result<Vec<i64>, _>>()?;
    for migration in SQLITE {
        if applied.contains(&migration.version) {
            continue;
        }
        tx.execute_batch(migration.sql)?;
        tx.execute(
            RECORD,
            rusqlite::params![
                migration.version,
                migration.name,
                to_ms(time::OffsetDateTime::now_utc())
            ],
        )?;
        log_applied(migration);
    }
    crate::sqlite::pans::number_merchants_from_before(&tx)?;
    tx.commit()?;
    Ok(())
}
