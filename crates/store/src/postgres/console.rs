//! The console's records on PostgreSQL. A login attempt counts and inserts under a transaction
//! advisory lock, so concurrent attempts on any number of nodes are admitted one at a time.

use crate::StoreError;
use crate::console::sql as q;
use crate::console::{
    AuditEntry, ConsoleSession, LOGIN_WINDOW, LoginGate, NewAuditEntry, Operator, audit_from_row,
    gate, operator_from_row, session_cutoffs, session_from_row,
};
use crate::rows::{require_one, to_ms};
use crate::{Constraint, Entity};
use sqlx::PgPool;
use time::OffsetDateTime;

/// An arbitrary constant naming the login gate among PostgreSQL advisory locks.
const LOGIN_LOCK: i64 = 0x534e_4150_4c47;

pub(crate) async fn add_operator(pool: &PgPool, operator: &Operator) -> Result<(), StoreError> {
    let done = sqlx::query(q::OPERATOR_INSERT)
        .bind(&operator.name)
        .bind(&operator.password_hash)
        .bind(to_ms(operator.created_at))
        .execute(pool)
        .await;
    match done {
        Err(e) if StoreError::is_unique_violation(&e) => {
            Err(StoreError::Conflict(Constraint::OperatorName))
        }
        other => other.map(drop).map_err(Into::into),
    }
}

pub(crate) async fn remove_operator(pool: &PgPool, name: &str) -> Result<(), StoreError> {
    let done = sqlx::query(q::OPERATOR_DELETE)
        .bind(name)
        .execute(pool)
        .await?;
    require_one(done.rows_affected(), Entity::Operator)
}

pub(crate) async fn operator(pool: &PgPool, name: &str) -> Result<Option<Operator>, StoreError> {
    let row = sqlx::query(q::OPERATOR_GET)
        .bind(name)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(operator_from_row).transpose()
}

pub(crate) async fn start_session(
    pool: &PgPool,
    id_hash: &str,
    operator: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let (idle_since, started_before) = session_cutoffs(now);
    sqlx::query(q::SESSION_PURGE)
        .bind(to_ms(idle_since))
        .bind(to_ms(started_before))
        .execute(pool)
        .await?;
    let done = sqlx::query(q::SESSION_INSERT)
        .bind(id_hash)
        .bind(operator)
        .bind(to_ms(now))
        .execute(pool)
        .await;
    match done {
        Err(sqlx::Error::Database(db)) if db.is_foreign_key_violation() => {
            Err(StoreError::NotFound(Entity::Operator))
        }
        other => other.map(drop).map_err(Into::into),
    }
}

pub(crate) async fn touch_session(
    pool: &PgPool,
    id_hash: &str,
    now: OffsetDateTime,
) -> Result<Option<ConsoleSession>, StoreError> {
    let (idle_since, started_before) = session_cutoffs(now);
    let row = sqlx::query(q::SESSION_TOUCH)
        .bind(to_ms(now))
        .bind(id_hash)
        .bind(to_ms(idle_since))
        .bind(to_ms(started_before))
        .fetch_optional(pool)
        .await?;
    let session = row.as_ref().map(session_from_row).transpose()?;
    if session.is_none() {
        // Ended (or never was): an ended one's row goes now.
        end_session(pool, id_hash).await?;
    }
    Ok(session)
}

pub(crate) async fn end_session(pool: &PgPool, id_hash: &str) -> Result<(), StoreError> {
    sqlx::query(q::SESSION_DELETE)
        .bind(id_hash)
        .execute(pool)
        .await?;
    Ok(())
}

pub(crate) async fn admit_login(
    pool: &PgPool,
    name: &str,
    address: &str,
    now: OffsetDateTime,
) -> Result<LoginGate, StoreError> {
    let since = to_ms(now - LOGIN_WINDOW);
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(LOGIN_LOCK)
        .execute(&mut *tx)
        .await?;
    sqlx::query(q::FAILURES_PURGE)
        .bind(since)
        .execute(&mut *tx)
        .await?;
    let by_name: i64 = sqlx::query_scalar(q::FAILURES_OF_NAME)
        .bind(name)
        .bind(since)
        .fetch_one(&mut *tx)
        .await?;
    let by_address: i64 = sqlx::query_scalar(q::FAILURES_OF_ADDRESS)
        .bind(address)
        .bind(since)
        .fetch_one(&mut *tx)
        .await?;
    let verdict = gate(by_name, by_address);
    if verdict == LoginGate::Admitted {
        sqlx::query(q::FAILURE_INSERT)
            .bind(name)
            .bind(address)
            .bind(to_ms(now))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(verdict)
}

pub(crate) async fn clear_login_failures(pool: &PgPool, name: &str) -> Result<(), StoreError> {
    sqlx::query(q::FAILURES_CLEAR)
        .bind(name)
        .execute(pool)
        .await?;
    Ok(())
}

pub(crate) async fn append_audit(pool: &PgPool, entry: &NewAuditEntry) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(q::AUDIT_INSERT)
        .bind(&entry.operator)
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(&entry.detail)
        .bind(to_ms(entry.at))
        .fetch_one(pool)
        .await?)
}

pub(crate) async fn audit_log(
    pool: &PgPool,
    limit: u32,
    before: Option<i64>,
) -> Result<Vec<AuditEntry>, StoreError> {
    let rows = sqlx::query(q::AUDIT_PAGE)
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    rows.iter().map(audit_from_row).collect()
}
