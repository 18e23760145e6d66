//! The notification outbox on SQLite (`crate::outbox`): every write runs on the writer thread.
//! A lease reads the due rows on a reader and stamps them on the writer, each only if it is
//! still as read, so the writer is held for the rows leased and nothing else.

use crate::outbox::{
    FinishedAttempt, LeasedNotification, NewNotification, NotificationBacklog, NotificationCounts,
    NotificationDetail, NotificationFilter, NotificationSummary, attempt_from_row, counts_from,
    leased_from_row, status_filter, summary_from_row,
};
use crate::rows::to_ms;
use crate::sqlite::statements::{read_all, read_optional};
use crate::{Entity, StoreError};
use rusqlite::{Connection, params};
use time::OffsetDateTime;

const INSERT: &str = "INSERT INTO notifications (notification_id, client_id, event, id_qr, \
     payment_id, refund_no, body, status, next_attempt_at, created_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?8)";

/// The partners notifications can go to now; the others' are held.
const RECEIVING: &str =
    "SELECT client_id, callback_url FROM partners WHERE enabled = 1 AND callback_url IS NOT NULL";

/// One receiving partner's due notifications, oldest due first (an index range of
/// `notifications_partner_due`): unleased, and not behind an earlier pending notification of
/// its payment.
const DUE: &str = "SELECT n.notification_id, n.client_id, ?2 AS callback_url, n.body, \
     n.attempts, n.round_attempts, n.next_attempt_at FROM notifications n \
     WHERE n.client_id = ?1 AND n.status = 'pending' AND n.next_attempt_at <= ?3 \
     AND (n.lease_until IS NULL OR n.lease_until <= ?3) \
     AND NOT EXISTS (SELECT 1 FROM notifications e WHERE e.payment_id = n.payment_id \
         AND e.status = 'pending' \
         AND (e.created_at, e.notification_id) < (n.created_at, n.notification_id)) \
     ORDER BY n.next_attempt_at LIMIT ?4";

/// Stamps a lease on a notification read as due, only if it still is, unchanged (same attempt
/// count) and unleased: the read ran on a reader, so another lease may have come between.
const LEASE: &str = "UPDATE notifications SET lease_holder = ?1, lease_until = ?2 \
     WHERE notification_id = ?3 AND status = 'pending' AND attempts = ?4 \
     AND next_attempt_at <= ?5 AND (lease_until IS NULL OR lease_until <= ?5)";

const FINISH: &str = "UPDATE notifications SET status = ?1, attempts = attempts + 1, \
     round_attempts = round_attempts + 1, next_attempt_at = ?2, lease_holder = NULL, \
     lease_until = NULL, last_result = ?3 \
     WHERE notification_id = ?4 AND lease_holder = ?5 AND status = 'pending'";

const ATTEMPT_INSERT: &str = "INSERT INTO notification_attempts (notification_id, attempt, \
     started_at, latency_ms, http_status, response_code, error) \
     SELECT notification_id, attempts, ?2, ?3, ?4, ?5, ?6 FROM notifications \
     WHERE notification_id = ?1";

const RESEND: &str = "UPDATE notifications SET status = 'pending', round_attempts = 0, \
     next_attempt_at = ?2, lease_holder = NULL, lease_until = NULL \
     WHERE notification_id = ?1 AND status IN ('delivered', 'failed')";

const EXISTS: &str = "SELECT 1 FROM notifications WHERE notification_id = ?1";

/// Whether a notification's partner `p` (left-joined) cannot receive: a pending one is held.
macro_rules! held {
    () => {
        "(p.client_id IS NULL OR p.enabled = 0 OR p.callback_url IS NULL)"
    };
}

/// Each notification with whether it is held (its partner cannot receive).
macro_rules! shown {
    () => {
        concat!(
            "SELECT n.*, (n.status = 'pending' AND ",
            held!(),
            ") AS held FROM notifications n LEFT JOIN partners p ON p.client_id = n.client_id"
        )
    };
}

const LIST: &str = concat!(
    "SELECT * FROM (",
    shown!(),
    ") WHERE (?1 IS NULL OR client_id = ?1) \
     AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR held = ?3) \
     AND (?4 IS NULL OR notification_id < ?4) ORDER BY notification_id DESC LIMIT ?5"
);

const DETAIL: &str = concat!(shown!(), " WHERE n.notification_id = ?1");

const ATTEMPTS: &str =
    "SELECT * FROM notification_attempts WHERE notification_id = ?1 ORDER BY attempt";

const COUNTS: &str = concat!(
    "SELECT n.status, (n.status = 'pending' AND ",
    held!(),
    ") AS held, COUNT(*) FROM notifications n LEFT JOIN partners p ON p.client_id = n.client_id \
     WHERE (?1 IS NULL OR n.client_id = ?1) GROUP BY 1, 2"
);

const BACKLOG: &str = concat!(
    "SELECT COUNT(*), COALESCE(SUM(",
    held!(),
    "), 0), MIN(CASE WHEN NOT ",
    held!(),
    " AND (n.lease_until IS NULL OR n.lease_until <= ?1) THEN n.next_attempt_at END) \
     FROM notifications n LEFT JOIN partners p ON p.client_id = n.client_id \
     WHERE n.status = 'pending'"
);

/// Writes `n` inside the caller's transaction (an event's unit of work); due at once.
pub(crate) fn insert_notification(c: &Connection, n: &NewNotification) -> Result<(), StoreError> {
    c.prepare_cached(INSERT)?.execute(params![
        n.notification_id,
        n.client_id,
        n.event.as_str(),
        n.id_qr,
        n.payment_id,
        n.refund_no,
        n.body,
        to_ms(n.created_at),
    ])?;
    Ok(())
}

/// The read half of `Store::lease_notifications`, on a reader: up to `limit` due
/// notifications of each receiving partner, then the `limit` due first of them all. Partner by
/// partner, so the cost is the receiving partners' due rows, never a held backlog.
pub(crate) fn due(
    c: &Connection,
    now: OffsetDateTime,
    limit: u32,
) -> Result<Vec<LeasedNotification>, StoreError> {
    let receiving = read_all(c, RECEIVING, [], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
    })?;
    let mut due = Vec::new();
    for (client_id, callback_url) in receiving {
        let values = params![client_id, callback_url, to_ms(now), limit];
        due.extend(read_all(c, DUE, values, |row| {
            Ok((
                crate::rows::Columns::int(row, "next_attempt_at")?,
                leased_from_row(row)?,
            ))
        })?);
    }
    due.sort_by_key(|(due_at, leased)| (*due_at, leased.notification_id));
    due.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(due.into_iter().map(|(_, leased)| leased).collect())
}

/// The write half of `Store::lease_notifications`, on the writer: leases each of `due` that
/// is still due, unchanged and unleased to `holder`; those it leased.
pub(crate) fn stamp(
    c: &Connection,
    holder: &str,
    now: OffsetDateTime,
    until: OffsetDateTime,
    due: Vec<LeasedNotification>,
) -> Result<Vec<LeasedNotification>, StoreError> {
    let mut update = c.prepare_cached(LEASE)?;
    let mut leased = Vec::with_capacity(due.len());
    for notification in due {
        let attempts = notification.attempt.saturating_sub(1);
        let values = params![
            holder,
            to_ms(until),
            notification.notification_id,
            attempts,
            to_ms(now)
        ];
        if update.execute(values)? == 1 {
            leased.push(notification);
        }
    }
    Ok(leased)
}

/// `Store::finish_attempt`, run by the writer.
pub(crate) fn finish(c: &Connection, done: &FinishedAttempt) -> Result<bool, StoreError> {
    let next = done.next_attempt().map(to_ms);
    let changed = c.prepare_cached(FINISH)?.execute(params![
        done.status(),
        next,
        done.result_text(),
        done.notification_id,
        done.holder,
    ])?;
    if changed == 0 {
        return Ok(false);
    }
    let record = &done.record;
    c.prepare_cached(ATTEMPT_INSERT)?.execute(params![
        done.notification_id,
        to_ms(record.started_at),
        i64::try_from(record.latency.as_millis()).unwrap_or(i64::MAX),
        record.http_status,
        record.response_code,
        record.error,
    ])?;
    Ok(true)
}

/// `Store::resend_notification`, run by the writer.
pub(crate) fn resend(c: &Connection, id: i64, now: OffsetDateTime) -> Result<(), StoreError> {
    if c.prepare_cached(RESEND)?.execute(params![id, to_ms(now)])? == 1 {
        return Ok(());
    }
    match read_optional(c, EXISTS, [id], |_| Ok(()))? {
        Some(()) => Ok(()),
        None => Err(StoreError::NotFound(Entity::Notification)),
    }
}

/// `Store::notifications`.
pub(crate) fn list(
    c: &Connection,
    filter: &NotificationFilter,
) -> Result<Vec<NotificationSummary>, StoreError> {
    let (status, held) = status_filter(filter.status);
    let values = params![filter.client_id, status, held, filter.before, filter.limit];
    read_all(c, LIST, values, |row| summary_from_row(row))
}

/// `Store::notification`.
pub(crate) fn detail(c: &Connection, id: i64) -> Result<Option<NotificationDetail>, StoreError> {
    let found = read_optional(c, DETAIL, [id], |row| {
        Ok((
            summary_from_row(row)?,
            crate::rows::Columns::text(row, "body")?,
        ))
    })?;
    let Some((summary, body)) = found else {
        return Ok(None);
    };
    let attempts = read_all(c, ATTEMPTS, [id], |row| attempt_from_row(row))?;
    Ok(Some(NotificationDetail {
        summary,
        body,
        attempts,
    }))
}

/// `Store::notification_counts`.
pub(crate) fn counts(
    c: &Connection,
    client_id: Option<&str>,
) -> Result<NotificationCounts, StoreError> {
    let rows = read_all(c, COUNTS, [client_id], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, i64>(1)? != 0,
            row.get::<_, i64>(2)?,
        ))
    })?;
    Ok(counts_from(rows))
}

/// `Store::notification_backlog`.
pub(crate) fn backlog(
    c: &Connection,
    now: OffsetDateTime,
) -> Result<NotificationBacklog, StoreError> {
    let (all, held, earliest) =
        c.prepare_cached(BACKLOG)?
            .query_row(params![to_ms(now)], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, Option<i64>>(2)?,
                ))
            })?;
    NotificationBacklog::of(all, held, earliest, now)
}
