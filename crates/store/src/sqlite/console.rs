//! The console's records on SQLite: every write is one job of the writer thread, so a login
//! attempt's count and its insert are never interleaved with another's.

use super::statements::{constraint_error, read_all, read_optional};
use crate::console::sql as q;
use crate::console::{
    AuditEntry, ConsoleSession, LOGIN_WINDOW, LoginGate, NewAuditEntry, Operator, audit_from_row,
    gate, operator_from_row, session_cutoffs, session_from_row,
};
use crate::rows::{require_one, to_ms};
use crate::{Constraint, Entity, StoreError};
use rusqlite::{Connection, params};
use time::OffsetDateTime;

pub(crate) fn add_operator(c: &Connection, operator: &Operator) -> Result<(), StoreError> {
    let values = params![
        operator.name,
        operator.password_hash,
        to_ms(operator.created_at)
    ];
    c.execute(q::OPERATOR_INSERT, values)
        .map_err(|e| constraint_error(e, |_| Some(Constraint::OperatorName), Entity::Operator))
        .map(drop)
}

pub(crate) fn remove_operator(c: &Connection, name: &str) -> Result<(), StoreError> {
    let removed = c.prepare_cached(q::OPERATOR_DELETE)?.execute([name])?;
    require_one(removed as u64, Entity::Operator)
}

pub(crate) fn operator(c: &Connection, name: &str) -> Result<Option<Operator>, StoreError> {
    read_optional(c, q::OPERATOR_GET, [name], |row| operator_from_row(row))
}

pub(crate) fn start_session(
    c: &Connection,
    id_hash: &str,
    operator: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let (idle_since, started_before) = session_cutoffs(now);
    c.prepare_cached(q::SESSION_PURGE)?
        .execute([to_ms(idle_since), to_ms(started_before)])?;
    c.prepare_cached(q::SESSION_INSERT)?
        .execute(params![id_hash, operator, to_ms(now)])
        .map_err(|e| constraint_error(e, |_| None, Entity::Operator))
        .map(drop)
}

pub(crate) fn touch_session(
    c: &Connection,
    id_hash: &str,
    now: OffsetDateTime,
) -> Result<Option<ConsoleSession>, StoreError> {
    let (idle_since, started_before) = session_cutoffs(now);
    let values = params![
        to_ms(now),
        id_hash,
        to_ms(idle_since),
        to_ms(started_before)
    ];
    let session = read_optional(c, q::SESSION_TOUCH, values, |row| session_from_row(row))?;
    if session.is_none() {
        // Ended (or never was): an ended one's row goes now.
        end_session(c, id_hash)?;
    }
    Ok(session)
}

pub(crate) fn end_session(c: &Connection, id_hash: &str) -> Result<(), StoreError> {
    c.prepare_cached(q::SESSION_DELETE)?.execute([id_hash])?;
    Ok(())
}

pub(crate) fn admit_login(
    c: &Connection,
    name: &str,
    address: &str,
    now: OffsetDateTime,
) -> Result<LoginGate, StoreError> {
    let since = to_ms(now - LOGIN_WINDOW);
    c.prepare_cached(q::FAILURES_PURGE)?.execute([since])?;
    let count = |sql, key: &str| -> Result<i64, StoreError> {
        Ok(c.prepare_cached(sql)?
            .query_row(params![key, since], |row| row.get(0))?)
    };
    let verdict = gate(
        count(q::FAILURES_OF_NAME, name)?,
        count(q::FAILURES_OF_ADDRESS, address)?,
    );
    if verdict == LoginGate::Admitted {
        c.prepare_cached(q::FAILURE_INSERT)?
            .execute(params![name, address, to_ms(now)])?;
    }
    Ok(verdict)
}

pub(crate) fn clear_login_failures(c: &Connection, name: &str) -> Result<(), StoreError> {
    c.prepare_cached(q::FAILURES_CLEAR)?.execute([name])?;
    Ok(())
}

pub(crate) fn append_audit(c: &Connection, entry: &NewAuditEntry) -> Result<i64, StoreError> {
    let values = params![
        entry.operator,
        entry.action,
        entry.target,
        entry.detail,
        to_ms(entry.at)
    ];
    Ok(c.prepare_cached(q::AUDIT_INSERT)?
        .query_row(values, |row| row.get(0))?)
}

pub(crate) fn audit_log(
    c: &Connection,
    limit: u32,
    before: Option<i64>,
) -> Result<Vec<AuditEntry>, StoreError> {
    let values = params![before.unwrap_or(i64::MAX), limit];
    read_all(c, q::AUDIT_PAGE, values, |row| audit_from_row(row))
}
