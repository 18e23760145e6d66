//! `admin notify list|show|resend` (CONTRACT §6.2): what operators see of the outbox, and the
//! one thing they do to it.

use crate::cli::args::NotificationStatusArg;
use crate::cli::show::say;
use anyhow::{Context, anyhow};
use snapqris_protocol::format_rfc3339_jakarta;
use snapqris_store::{
    Entity, NotificationFilter, NotificationStatus, NotificationSummary, Store, StoreError,
};
use std::io::Write;
use time::OffsetDateTime;

/// How many rows one store read brings; the list pages on until it is done.
const PAGE: u32 = 1000;

/// `admin notify list`: every notification selected, newest first, read a page at a time.
pub(crate) async fn list(
    store: &dyn Store,
    client_id: Option<String>,
    status: Option<NotificationStatusArg>,
) -> anyhow::Result<()> {
    let mut filter = NotificationFilter {
        client_id,
        status: status.map(|status| match status {
            NotificationStatusArg::Held => NotificationStatus::Held,
            NotificationStatusArg::Pending => NotificationStatus::Pending,
            NotificationStatusArg::Delivered => NotificationStatus::Delivered,
            NotificationStatusArg::Failed => NotificationStatus::Failed,
        }),
        limit: PAGE,
        before: None,
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "notification_id\tclient_id\tevent\tid_qr\tstatus\tattempts\tnext_attempt\tlast_result"
    )?;
    loop {
        let page = store
            .notifications(&filter)
            .await
            .context("cannot list notifications")?;
        for n in &page {
            writeln!(out, "{}", row(n))?;
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => filter.before = Some(last.notification_id),
            _ => return Ok(()),
        }
    }
}

fn row(n: &NotificationSummary) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
        n.notification_id,
        n.client_id,
        n.event.as_str(),
        n.id_qr,
        n.status.as_str(),
        n.attempts,
        n.next_attempt
            .map(format_rfc3339_jakarta)
            .unwrap_or_default(),
        one_line(n.last_result.as_deref().unwrap_or("")),
    )
}

/// Tabs and line breaks (from a receiver's error text) would break the table.
fn one_line(text: &str) -> String {
    text.replace(['\t', '\n', '\r'], " ")
}

/// `admin notify show ID`: the notification, its body, then one line per attempt.
pub(crate) async fn show(store: &dyn Store, id_text: &str) -> anyhow::Result<()> {
    let id = parse_id(id_text)?;
    let detail = store
        .notification(id)
        .await
        .context("cannot read the notification")?
        .ok_or_else(|| anyhow!("no notification has id {id}"))?;
    let n = &detail.summary;
    let mut out = std::io::stdout().lock();
    writeln!(out, "notification_id: {}", n.notification_id)?;
    writeln!(out, "client_id: {}", n.client_id)?;
    writeln!(out, "event: {}", n.event.as_str())?;
    writeln!(out, "id_qr: {}", n.id_qr)?;
    writeln!(out, "payment_id: {}", n.payment_id)?;
    if let Some(refund_no) = n.refund_no {
        writeln!(out, "refund_no: {refund_no}")?;
    }
    writeln!(out, "status: {}", n.status.as_str())?;
    writeln!(out, "created_at: {}", format_rfc3339_jakarta(n.created_at))?;
    if let Some(next) = n.next_attempt {
        writeln!(out, "next_attempt: {}", format_rfc3339_jakarta(next))?;
    }
    writeln!(out, "body: {}", detail.body)?;
    writeln!(
        out,
        "attempt\ttime\thttp_status\tresponse_code\tlatency_ms\terror"
    )?;
    for a in &detail.attempts {
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}",
            a.attempt,
            format_rfc3339_jakarta(a.started_at),
            a.http_status.map(|s| s.to_string()).unwrap_or_default(),
            a.response_code.as_deref().unwrap_or(""),
            a.latency.as_millis(),
            one_line(a.error.as_deref().unwrap_or("")),
        )?;
    }
    Ok(())
}

/// `admin notify resend ID`.
pub(crate) async fn resend(store: &dyn Store, id_text: &str) -> anyhow::Result<()> {
    let id = parse_id(id_text)?;
    match store
        .resend_notification(id, OffsetDateTime::now_utc())
        .await
    {
        Ok(()) => {
            say!("notification {id} queued")?;
            Ok(())
        }
        Err(StoreError::NotFound(Entity::Notification)) => {
            Err(anyhow!("no notification has id {id}"))
        }
        Err(error) => Err(anyhow::Error::new(error).context("cannot queue the notification")),
    }
}

/// Ids are decimal strings of at most 20 digits (CONTRACT §6); ours fit an `i64`.
fn parse_id(text: &str) -> anyhow::Result<i64> {
    crate::cli::parse_positive_id(text, "notification id")
}
