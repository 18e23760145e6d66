//! The notification outbox (CONTRACT §6.2): what a payment or refund leaves for the delivery
//! worker, and what the worker and operators read back.
//!
//! A notification row is written by the same unit of work as its event (`work.rs`), so a 2xx
//! answer means it will be delivered. Its body is fixed then; the worker leases due rows one
//! attempt at a time (a lease that outlives a dead node expires, and another node retries),
//! and records each attempt with its outcome in one transaction.

use crate::StoreError;
use crate::model::{Payment, QrCode};
use snapqris_protocol::{NotificationAmount, NotificationBody, NotificationInfo};
use snapqris_protocol::{notification_time, notified_status};
use std::time::Duration;
use time::OffsetDateTime;

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationEvent {
    /// A payment was made.
    Payment,
    /// A refund was made.
    Refund,
}

impl NotificationEvent {
    /// `payment` or `refund`, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationEvent::Payment => "payment",
            NotificationEvent::Refund => "refund",
        }
    }

    /// The event named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "payment" => Some(NotificationEvent::Payment),
            "refund" => Some(NotificationEvent::Refund),
            _ => None,
        }
    }
}

/// Where a notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationStatus {
    /// Waiting for its partner to be enabled and given a callback URL; no attempts are made.
    Held,
    /// Attempts are due or scheduled.
    Pending,
    /// An attempt was acknowledged.
    Delivered,
    /// The retry schedule ran out.
    Failed,
}

impl NotificationStatus {
    /// `held`, `pending`, `delivered` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationStatus::Held => "held",
            NotificationStatus::Pending => "pending",
            NotificationStatus::Delivered => "delivered",
            NotificationStatus::Failed => "failed",
        }
    }

    /// The status named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        [
            NotificationStatus::Held,
            NotificationStatus::Pending,
            NotificationStatus::Delivered,
            NotificationStatus::Failed,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

/// One notification, as `admin notify list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationSummary {
    /// Its id (`additionalInfo.notificationId`).
    pub notification_id: i64,
    /// The receiving partner (the QR's owner).
    pub client_id: String,
    /// What happened.
    pub event: NotificationEvent,
    /// The QR.
    pub id_qr: i64,
    /// The payment (refunds: the payment refunded).
    pub payment_id: i64,
    /// The refund, for a refund's notification.
    pub refund_no: Option<i64>,
    /// Where it stands.
    pub status: NotificationStatus,
    /// Attempts made so far, over all rounds.
    pub attempts: u32,
    /// When the next attempt is due (pending and held only).
    pub next_attempt: Option<OffsetDateTime>,
    /// The last attempt's result, in a few words.
    pub last_result: Option<String>,
    /// When its event committed.
    pub created_at: OffsetDateTime,
}

/// One attempt to deliver a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationAttempt {
    /// Its number, from 1, over all rounds.
    pub attempt: u32,
    /// When it started.
    pub started_at: OffsetDateTime,
    /// How long it took.
    pub latency: Duration,
    /// The HTTP status answered, if any.
    pub http_status: Option<u16>,
    /// The `responseCode` of a JSON answer, if any.
    pub response_code: Option<String>,
    /// Why it failed without an answer, or why the answer failed it.
    pub error: Option<String>,
}

/// One notification with its body and every attempt (`admin notify show`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationDetail {
    /// What the list shows.
    pub summary: NotificationSummary,
    /// The body sent, compact JSON.
    pub body: String,
    /// Every attempt, oldest first.
    pub attempts: Vec<NotificationAttempt>,
}

/// Which notifications to list, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationFilter {
    /// Only this partner's.
    pub client_id: Option<String>,
    /// Only those in this state.
    pub status: Option<NotificationStatus>,
    /// At most this many.
    pub limit: u32,
    /// Only ids below this one (the next page after a page ending there).
    pub before: Option<i64>,
}

impl Default for NotificationFilter {
    fn default() -> Self {
        NotificationFilter {
            client_id: None,
            status: None,
            limit: 1000,
            before: None,
        }
    }
}

/// How many notifications are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotificationCounts {
    /// Waiting for a URL or an enabled partner.
    pub held: u64,
    /// Due or scheduled.
    pub pending: u64,
    /// Acknowledged.
    pub delivered: u64,
    /// Gave up.
    pub failed: u64,
}

/// The notifications not yet delivered nor given up, for the worker's gauges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotificationBacklog {
    /// Due or scheduled.
    pub pending: u64,
    /// Waiting for a URL or an enabled partner.
    pub held: u64,
    /// When the longest-waiting notification that could go out now (its partner receives, no
    /// live lease) became due; `None` when none is due. Far in the past: attempts start late.
    pub oldest_due: Option<OffsetDateTime>,
}

impl NotificationBacklog {
    /// From the number of pending rows, how many of them are held, and the earliest due time
    /// (ms) of those not held nor leased at `now`, kept only when it is not after `now`.
    pub(crate) fn of(
        all_pending: i64,
        held: i64,
        earliest_ms: Option<i64>,
        now: OffsetDateTime,
    ) -> Result<Self, StoreError> {
        let held = u64::try_from(held).unwrap_or(0);
        let earliest = crate::rows::from_ms_opt(earliest_ms)?;
        Ok(NotificationBacklog {
            pending: u64::try_from(all_pending).unwrap_or(0).saturating_sub(held),
            held,
            oldest_due: earliest.filter(|due| *due <= now),
        })
    }
}

/// A notification leased to a worker for one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeasedNotification {
    /// Its id.
    pub notification_id: i64,
    /// The receiving partner.
    pub client_id: String,
    /// The partner's notification base URL (set by an operator).
    pub callback_url: String,
    /// The body to send, byte for byte.
    pub body: String,
    /// This attempt's number, from 1, over all rounds.
    pub attempt: u32,
    /// Attempts made in this round before this one (0: the first; a resend starts a round),
    /// which indexes the retry schedule.
    pub round_attempts: u32,
}

/// What an attempt leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Acknowledged: never sent again unless an operator resends it.
    Delivered,
    /// Failed; the next attempt is due at this moment.
    Retry {
        /// When.
        at: OffsetDateTime,
    },
    /// Failed, and the schedule ran out.
    Failed,
}

/// An attempt made under a lease, to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedAttempt {
    /// The notification.
    pub notification_id: i64,
    /// Who holds the lease.
    pub holder: String,
    /// The attempt.
    pub record: NotificationAttempt,
    /// What it leads to.
    pub outcome: AttemptOutcome,
}

impl FinishedAttempt {
    /// The few words `admin notify list` shows for the attempt.
    pub(crate) fn result_text(&self) -> String {
        let record = &self.record;
        let mut text = match record.http_status {
            Some(status) => format!("HTTP {status}"),
            None => String::from("no answer"),
        };
        if let Some(code) = &record.response_code {
            text.push(' ');
            text.push_str(code);
        }
        if let Some(error) = &record.error {
            text.push_str(": ");
            text.push_str(error);
        }
        text
    }

    /// The status the notification is left in.
    pub(crate) fn status(&self) -> &'static str {
        match self.outcome {
            AttemptOutcome::Delivered => "delivered",
            AttemptOutcome::Retry { .. } => "pending",
            AttemptOutcome::Failed => "failed",
        }
    }

    /// When the next attempt is due, if any.
    pub(crate) fn next_attempt(&self) -> Option<OffsetDateTime> {
        match self.outcome {
            AttemptOutcome::Retry { at } => Some(at),
            AttemptOutcome::Delivered | AttemptOutcome::Failed => None,
        }
    }
}

/// A refund, as its notification tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RefundFacts {
    /// The refund's number.
    pub(crate) refund_no: i64,
    /// The partner's reference for it.
    pub(crate) partner_refund_no: String,
    /// What it gave back, in sen.
    pub(crate) amount_sen: i64,
    /// When.
    pub(crate) at: OffsetDateTime,
    /// The payment's refunds so far, this one included, in sen.
    pub(crate) refunded_total_sen: i64,
}

/// A notification row to write inside an event's unit of work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewNotification {
    /// Its id, from the node-leased generator.
    pub(crate) notification_id: i64,
    /// The receiving partner: the QR's owner.
    pub(crate) client_id: String,
    /// What happened.
    pub(crate) event: NotificationEvent,
    /// The QR.
    pub(crate) id_qr: i64,
    /// The payment.
    pub(crate) payment_id: i64,
    /// The refund, for a refund.
    pub(crate) refund_no: Option<i64>,
    /// The body, compact JSON.
    pub(crate) body: String,
    /// When the event committed; the first attempt is due then.
    pub(crate) created_at: OffsetDateTime,
}

impl NewNotification {
    /// The notification of `payment` of `qr`.
    pub(crate) fn of_payment(notification_id: i64, qr: &QrCode, payment: &Payment) -> Self {
        Self::build(notification_id, qr, payment, None, payment.paid_at)
    }

    /// The notification of `refund` of `payment` of `qr`.
    pub(crate) fn of_refund(
        notification_id: i64,
        qr: &QrCode,
        payment: &Payment,
        refund: &RefundFacts,
    ) -> Self {
        Self::build(notification_id, qr, payment, Some(refund), refund.at)
    }

    fn build(
        notification_id: i64,
        qr: &QrCode,
        payment: &Payment,
        refund: Option<&RefundFacts>,
        at: OffsetDateTime,
    ) -> Self {
        let refunded = refund.map_or(0, |refund| refund.refunded_total_sen);
        let (status, description) = notified_status(payment.amount_sen, refunded);
        let event = match refund {
            Some(_) => NotificationEvent::Refund,
            None => NotificationEvent::Payment,
        };
        let details = &payment.details;
        let body = NotificationBody {
            original_reference_no: qr.id_qr.to_string(),
            original_partner_reference_no: qr.partner_reference_no.clone(),
            latest_transaction_status: status.to_owned(),
            transaction_status_desc: description.to_owned(),
            amount: NotificationAmount::idr(payment.amount_sen),
            additional_info: NotificationInfo {
                notification_id: notification_id.to_string(),
                event_type: event.as_str().to_owned(),
                payment_id: payment.payment_id.to_string(),
                merchant_id: qr.merchant_id.clone(),
                terminal_id: qr.terminal_id.clone(),
                paid_time: notification_time(payment.paid_at),
                issuer_name: details.issuer_name.clone(),
                customer_name: details.customer_name.clone(),
                rrn: details.rrn.clone(),
                refund_no: refund.map(|refund| refund.refund_no.to_string()),
                partner_refund_no: refund.map(|refund| refund.partner_refund_no.clone()),
                refund_amount: refund.map(|refund| NotificationAmount::idr(refund.amount_sen)),
                refund_time: refund.map(|refund| notification_time(refund.at)),
            },
        };
        NewNotification {
            notification_id,
            client_id: qr.client_id.clone(),
            event,
            id_qr: qr.id_qr,
            payment_id: payment.payment_id,
            refund_no: refund.map(|refund| refund.refund_no),
            body: body.to_json(),
            created_at: at,
        }
    }
}

/// The counts of `(stored status, held, count)` rows.
pub(crate) fn counts_from(
    rows: impl IntoIterator<Item = (String, bool, i64)>,
) -> NotificationCounts {
    let mut counts = NotificationCounts::default();
    for (status, held, count) in rows {
        let count = u64::try_from(count).unwrap_or(0);
        match (status.as_str(), held) {
            ("pending", true) => counts.held += count,
            ("pending", false) => counts.pending += count,
            ("delivered", _) => counts.delivered += count,
            _ => counts.failed += count,
        }
    }
    counts
}

/// A listed notification from a row of the list query (columns of `notifications` plus `held`).
pub(crate) fn summary_from_row(
    row: &impl crate::rows::Columns,
) -> Result<NotificationSummary, crate::StoreError> {
    use crate::rows::{from_ms, from_ms_opt};
    let corrupt = |what: &str, value: String| {
        crate::StoreError::Corrupt(format!("notification {what} {value:?}"))
    };
    let event = row.text("event")?;
    let stored = row.text("status")?;
    let status = match (stored.as_str(), row.flag("held")?) {
        ("pending", true) => NotificationStatus::Held,
        (other, _) => {
            NotificationStatus::parse(other).ok_or_else(|| corrupt("status", stored.clone()))?
        }
    };
    Ok(NotificationSummary {
        notification_id: row.int("notification_id")?,
        client_id: row.text("client_id")?,
        event: NotificationEvent::parse(&event).ok_or_else(|| corrupt("event", event.clone()))?,
        id_qr: row.int("id_qr")?,
        payment_id: row.int("payment_id")?,
        refund_no: row.opt_int("refund_no")?,
        status,
        attempts: u32::try_from(row.int("attempts")?).unwrap_or(u32::MAX),
        next_attempt: match status {
            NotificationStatus::Held | NotificationStatus::Pending => {
                from_ms_opt(row.opt_int("next_attempt_at")?)?
            }
            NotificationStatus::Delivered | NotificationStatus::Failed => None,
        },
        last_result: row.opt_text("last_result")?,
        created_at: from_ms(row.int("created_at")?)?,
    })
}

/// An attempt from a row of `notification_attempts`.
pub(crate) fn attempt_from_row(
    row: &impl crate::rows::Columns,
) -> Result<NotificationAttempt, crate::StoreError> {
    Ok(NotificationAttempt {
        attempt: u32::try_from(row.int("attempt")?).unwrap_or(u32::MAX),
        started_at: crate::rows::from_ms(row.int("started_at")?)?,
        latency: Duration::from_millis(u64::try_from(row.int("latency_ms")?).unwrap_or(0)),
        http_status: row
            .opt_int("http_status")?
            .and_then(|status| u16::try_from(status).ok()),
        response_code: row.opt_text("response_code")?,
        error: row.opt_text("error")?,
    })
}

/// A leased notification from a row of the lease query.
pub(crate) fn leased_from_row(
    row: &impl crate::rows::Columns,
) -> Result<LeasedNotification, crate::StoreError> {
    let attempts = u32::try_from(row.int("attempts")?).unwrap_or(u32::MAX);
    Ok(LeasedNotification {
        notification_id: row.int("notification_id")?,
        client_id: row.text("client_id")?,
        callback_url: row.text("callback_url")?,
        body: row.text("body")?,
        attempt: attempts.saturating_add(1),
        round_attempts: u32::try_from(row.int("round_attempts")?).unwrap_or(u32::MAX),
    })
}

/// The stored status and `held` flag a listed status filters on.
pub(crate) fn status_filter(
    status: Option<NotificationStatus>,
) -> (Option<&'static str>, Option<bool>) {
    match status {
        None => (None, None),
        Some(NotificationStatus::Held) => (Some("pending"), Some(true)),
        Some(NotificationStatus::Pending) => (Some("pending"), Some(false)),
        Some(other) => (Some(other.as_str()), None),
    }
}
