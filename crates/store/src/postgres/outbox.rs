//! The notification outbox on PostgreSQL (`crate::outbox`). Many nodes lease from one table:
//! a lease takes due rows `FOR UPDATE SKIP LOCKED` and stamps them with a holder and an expiry
//! in one statement, so two nodes never attempt one notification at once, and a node that
//! dies leaves rows that come due again when their lease runs out.

use crate::outbox::{
    FinishedAttempt, LeasedNotification, NewNotification, NotificationBacklog, NotificationCounts,
    NotificationDetail, NotificationFilter, NotificationSummary, attempt_from_row, counts_from,
    leased_from_row, status_filter, summary_from_row,
};
use crate::rows::{Columns, to_ms};
use crate::{Entity, StoreError};
use sqlx::{PgConnection, PgPool, Row};
use time::OffsetDateTime;

const INSERT: &str = "INSERT INTO notifications (notification_id, client_id, event, id_qr, \
     payment_id, refund_no, body, status, next_attempt_at, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $8)";

/// Due, unleased, not held, and not behind an earlier pending notification of its payment;
/// leased in the same statement. Partner by partner (a lateral index range of
/// `notifications_partner_due` for each receiving partner), so a held partner's backlog is
/// never walked; rows another node is leasing are skipped, not waited for.
const LEASE: &str = "WITH due AS (SELECT d.notification_id FROM partners p \
     CROSS JOIN LATERAL (SELECT n.notification_id, n.next_attempt_at FROM notifications n \
         WHERE n.client_id = p.client_id AND n.status = 'pending' \
         AND n.next_attempt_at <= $3 AND (n.lease_until IS NULL OR n.lease_until <= $3) \
         AND NOT EXISTS (SELECT 1 FROM notifications e WHERE e.payment_id = n.payment_id \
             AND e.status = 'pending' \
             AND (e.created_at, e.notification_id) < (n.created_at, n.notification_id)) \
         ORDER BY n.next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED) d \
     WHERE p.enabled AND p.callback_url IS NOT NULL \
     ORDER BY d.next_attempt_at, d.notification_id LIMIT $4) \
     UPDATE notifications n SET lease_holder = $1, lease_until = $2 \
     FROM due, partners p \
     WHERE n.notification_id = due.notification_id AND p.client_id = n.client_id \
     RETURNING n.notification_id, n.client_id, p.callback_url, n.body, n.attempts, \
     n.round_attempts";

/// The outcome and its attempt row, only while the lease is still the holder's.
const FINISH: &str = "WITH done AS (UPDATE notifications SET status = $1, \
     attempts = attempts + 1, round_attempts = round_attempts + 1, next_attempt_at = $2, \
     lease_holder = NULL, lease_until = NULL, last_result = $3 \
     WHERE notification_id = $4 AND lease_holder = $5 AND status = 'pending' \
     RETURNING notification_id, attempts) \
     INSERT INTO notification_attempts (notification_id, attempt, started_at, latency_ms, \
     http_status, response_code, error) \
     SELECT notification_id, attempts, $6, $7, $8, $9, $10 FROM done";

const RESEND: &str = "UPDATE notifications SET status = 'pending', round_attempts = 0, \
     next_attempt_at = $2, lease_holder = NULL, lease_until = NULL \
     WHERE notification_id = $1 AND status IN ('delivered', 'failed')";

const EXISTS: &str = "SELECT 1 FROM notifications WHERE notification_id = $1";

/// Whether a notification's partner `p` (left-joined) cannot receive: a pending one is held.
macro_rules! held {
    () => {
        "(p.client_id IS NULL OR NOT p.enabled OR p.callback_url IS NULL)"
    };
}

const BACKLOG: &str = concat!(
    "SELECT COUNT(*) AS all_pending, COUNT(*) FILTER (WHERE ",
    held!(),
    ") AS held, MIN(n.next_attempt_at) FILTER (WHERE NOT ",
    held!(),
    " AND (n.lease_until IS NULL OR n.lease_until <= $1)) AS earliest \
     FROM notifications n LEFT JOIN partners p ON p.client_id = n.client_id \
     WHERE n.status = 'pending'"
);

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
    ") s WHERE ($1::TEXT IS NULL OR client_id = $1) \
     AND ($2::TEXT IS NULL OR status = $2) AND ($3::BOOLEAN IS NULL OR held = $3) \
     AND ($4::BIGINT IS NULL OR notification_id < $4) \
     ORDER BY notification_id DESC LIMIT $5"
);

const DETAIL: &str = concat!(shown!(), " WHERE n.notification_id = $1");

const ATTEMPTS: &str =
    "SELECT * FROM notification_attempts WHERE notification_id = $1 ORDER BY attempt";

const COUNTS: &str = concat!(
    "SELECT n.status, (n.status = 'pending' AND ",
    held!(),
    ") AS held, COUNT(*) AS count \
     FROM notifications n LEFT JOIN partners p ON p.client_id = n.client_id \
     WHERE ($1::TEXT IS NULL OR n.client_id = $1) GROUP BY 1, 2"
);

/// Writes `n` inside the caller's transaction (an event's unit of work); due at once.
pub(crate) async fn insert_notification(
    c: &mut PgConnection,
    n: &NewNotification,
) -> Result<(), StoreError> {
    sqlx::query(INSERT)
        .bind(n.notification_id)
        .bind(&n.client_id)
        .bind(n.event.as_str())
        .bind(n.id_qr)
        .bind(n.payment_id)
        .bind(n.refund_no)
        .bind(&n.body)
        .bind(to_ms(n.created_at))
        .execute(c)
        .await?;
    Ok(())
}

/// `Store::lease_notifications`.
pub(crate) async fn lease(
    pool: &PgPool,
    holder: &str,
    now: OffsetDateTime,
    until: OffsetDateTime,
    limit: u32,
) -> Result<Vec<LeasedNotification>, StoreError> {
    let rows = sqlx::query(LEASE)
        .bind(holder)
        .bind(to_ms(until))
        .bind(to_ms(now))
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    let mut leased = rows
        .iter()
        .map(leased_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    // RETURNING keeps no order; attempts go oldest due first.
    leased.sort_by_key(|n| n.notification_id);
    Ok(leased)
}

/// `Store::finish_attempt`.
pub(crate) async fn finish(pool: &PgPool, done: &FinishedAttempt) -> Result<bool, StoreError> {
    let record = &done.record;
    let written = sqlx::query(FINISH)
        .bind(done.status())
        .bind(done.next_attempt().map(to_ms))
        .bind(done.result_text())
        .bind(done.notification_id)
        .bind(&done.holder)
        .bind(to_ms(record.started_at))
        .bind(i64::try_from(record.latency.as_millis()).unwrap_or(i64::MAX))
        .bind(record.http_status.map(i64::from))
        .bind(&record.response_code)
        .bind(&record.error)
        .execute(pool)
        .await?;
    Ok(written.rows_affected() == 1)
}

/// `Store::resend_notification`.
pub(crate) async fn resend(pool: &PgPool, id: i64, now: OffsetDateTime) -> Result<(), StoreError> {
    let done = sqlx::query(RESEND)
        .bind(id)
        .bind(to_ms(now))
        .execute(pool)
        .await?;
    if done.rows_affected() == 1 {
        return Ok(());
    }
    match sqlx::query(EXISTS).bind(id).fetch_optional(pool).await? {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound(Entity::Notification)),
    }
}

/// `Store::notifications`.
pub(crate) async fn list(
    pool: &PgPool,
    filter: &NotificationFilter,
) -> Result<Vec<NotificationSummary>, StoreError> {
    let (status, held) = status_filter(filter.status);
    let rows = sqlx::query(LIST)
        .bind(&filter.client_id)
        .bind(status)
        .bind(held)
        .bind(filter.before)
        .bind(i64::from(filter.limit))
        .fetch_all(pool)
        .await?;
    rows.iter().map(summary_from_row).collect()
}

/// `Store::notification`.
pub(crate) async fn detail(
    pool: &PgPool,
    id: i64,
) -> Result<Option<NotificationDetail>, StoreError> {
    let Some(row) = sqlx::query(DETAIL).bind(id).fetch_optional(pool).await? else {
        return Ok(None);
    };
    let attempts = sqlx::query(ATTEMPTS).bind(id).fetch_all(pool).await?;
    Ok(Some(NotificationDetail {
        summary: summary_from_row(&row)?,
        body: row.text("body")?,
        attempts: attempts
            .iter()
            .map(attempt_from_row)
            .collect::<Result<_, _>>()?,
    }))
}

/// `Store::notification_counts`.
pub(crate) async fn counts(
    pool: &PgPool,
    client_id: Option<&str>,
) -> Result<NotificationCounts, StoreError> {
    let rows = sqlx::query(COUNTS).bind(client_id).fetch_all(pool).await?;
    let rows = rows
        .iter()
        .map(|row| {
            Ok((
                row.try_get::<String, _>("status")?,
                row.try_get::<bool, _>("held")?,
                row.try_get::<i64, _>("count")?,
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(counts_from(rows))
}

/// `Store::notification_backlog`.
pub(crate) async fn backlog(
    pool: &PgPool,
    now: OffsetDateTime,
) -> Result<NotificationBacklog, StoreError> {
    let row = sqlx::query(BACKLOG)
        .bind(to_ms(now))
        .fetch_one(pool)
        .await?;
    NotificationBacklog::of(
        row.try_get("all_pending")?,
        row.try_get("held")?,
        row.try_get("earliest")?,
        now,
    )
}
