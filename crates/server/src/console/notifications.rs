//! Notifications (CONTRACT §6.2) as the outbox holds them: failed and pending first, each with
//! its attempt history, and the resend action (`Store::resend_notification`, as the CLI).

use super::auth::Session;
use super::charts::{Series, stacked_bars};
use super::layout::{csrf_field, moment, page};
use super::{ConsoleError, audit};
use crate::state::AppState;
use axum::extract::{Form, Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use snapqris_store::{
    NotificationCounts, NotificationFilter, NotificationStatus, NotificationSummary, Partner,
    StoreError,
};

/// Notifications listed per status section.
const SECTION_SIZE: u32 = 100;
/// The most partners charted by name on the overview (the rest are summed as "others").
const CHARTED_PARTNERS: usize = 12;

/// The counts of each partner, in the partners' order.
pub(crate) async fn counts_of(
    state: &AppState,
    partners: &[Partner],
) -> Result<Vec<NotificationCounts>, StoreError> {
    let mut counts = Vec::with_capacity(partners.len());
    for partner in partners {
        counts.push(
            state
                .inner
                .store
                .notification_counts(Some(&partner.client_id))
                .await?,
        );
    }
    Ok(counts)
}

/// The overview's notification chart: pending, held and failed by partner, from the store.
pub(crate) async fn overview_chart(state: &AppState) -> Result<Markup, ConsoleError> {
    let partners = state.inner.store.partners().await?;
    let counts = counts_of(state, &partners).await?;
    let mut rows: Vec<(&str, &NotificationCounts)> = partners
        .iter()
        .map(|p| p.client_id.as_str())
        .zip(&counts)
        .filter(|(_, c)| c.pending + c.held + c.failed > 0)
        .collect();
    rows.sort_by_key(|(_, c)| std::cmp::Reverse(c.pending + c.held + c.failed));
    let mut others = NotificationCounts {
        held: 0,
        pending: 0,
        delivered: 0,
        failed: 0,
    };
    for (_, c) in rows.iter().skip(CHARTED_PARTNERS) {
        others.held += c.held;
        others.pending += c.pending;
        others.failed += c.failed;
    }
    let mut labels: Vec<String> = rows
        .iter()
        .take(CHARTED_PARTNERS)
        .map(|(id, _)| (*id).to_owned())
        .collect();
    let mut charted: Vec<&NotificationCounts> = rows
        .iter()
        .take(CHARTED_PARTNERS)
        .map(|(_, c)| *c)
        .collect();
    if rows.len() > CHARTED_PARTNERS {
        labels.push("others".into());
        charted.push(&others);
    }
    let series = [
        Series {
            label: "pending",
            values: charted.iter().map(|c| c.pending as f64).collect(),
        },
        Series {
            label: "held",
            values: charted.iter().map(|c| c.held as f64).collect(),
        },
        Series {
            label: "failed",
            values: charted.iter().map(|c| c.failed as f64).collect(),
        },
    ];
    let total = state.inner.store.notification_counts(None).await?;
    let x_labels: Vec<(usize, String)> = labels.into_iter().enumerate().collect();
    Ok(html! {
        div {
            (stacked_bars("Notifications waiting, by partner", "", &series, &x_labels))
            p.muted #notification-totals {
                "All partners: " span #pending-total { (total.pending) } " pending, "
                (total.held) " held, " (total.failed) " failed, " (total.delivered) " delivered."
            }
        }
    })
}

/// The notifications page's filter.
#[derive(Deserialize)]
pub(crate) struct ListQuery {
    /// Only this partner's (empty: all).
    #[serde(default)]
    partner: String,
}

fn section(session: &Session, title: &str, items: &[NotificationSummary]) -> Markup {
    html! {
        h2 { (title) " (" (items.len()) @if items.len() as u32 == SECTION_SIZE { "+" } ")" }
        @if items.is_empty() {
            p.muted { "None." }
        } @else {
            table.notifications {
                thead { tr {
                    th.num { "Id" } th { "Partner" } th { "Event" } th.num { "id_qr" }
                    th.num { "Payment" } th { "Status" } th.num { "Attempts" }
                    th { "Next attempt" } th { "Last result" } th { "Created" } th { "" }
                } }
                tbody {
                    @for n in items {
                        tr data-notification-id=(n.notification_id) {
                            td.num { a href={ "/notifications/" (n.notification_id) } { (n.notification_id) } }
                            td { code { (n.client_id) } }
                            td { (n.event.as_str()) }
                            td.num { (n.id_qr) }
                            td.num { (n.payment_id) @if let Some(r) = n.refund_no { " / refund " (r) } }
                            td.status { (n.status.as_str()) }
                            td.num.attempts { (n.attempts) }
                            td { @if let Some(at) = n.next_attempt { (moment(at)) } }
                            td { (n.last_result.as_deref().unwrap_or("")) }
                            td { (moment(n.created_at)) }
                            td { (resend_form(session, n)) }
                        }
                    }
                }
            }
        }
    }
}

fn resend_form(session: &Session, n: &NotificationSummary) -> Markup {
    let resendable = matches!(
        n.status,
        NotificationStatus::Delivered | NotificationStatus::Failed
    );
    html! {
        @if resendable {
            form.inline method="post" action={ "/notifications/" (n.notification_id) "/resend" } {
                (csrf_field(session))
                button type="submit" { "Resend" }
            }
        }
    }
}

/// `GET /notifications?partner=…`: failed, then pending and held, then the latest delivered.
pub(crate) async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<ListQuery>,
) -> Result<Html<String>, ConsoleError> {
    let store = &state.inner.store;
    let client_id = Some(query.partner.clone()).filter(|p| !p.is_empty());
    let of = |status| NotificationFilter {
        client_id: client_id.clone(),
        status: Some(status),
        limit: SECTION_SIZE,
        before: None,
    };
    let failed = store.notifications(&of(NotificationStatus::Failed)).await?;
    let pending = store
        .notifications(&of(NotificationStatus::Pending))
        .await?;
    let held = store.notifications(&of(NotificationStatus::Held)).await?;
    let delivered = store
        .notifications(&of(NotificationStatus::Delivered))
        .await?;
    let partners = store.partners().await?;
    let content = html! {
        form.filters method="get" action="/notifications" {
            label { "Partner " select name="partner" {
                option value="" { "all" }
                @for p in &partners {
                    option value=(p.client_id) selected[client_id.as_deref() == Some(p.client_id.as_str())] {
                        (p.client_id)
                    }
                }
            } }
            button type="submit" { "Show" }
        }
        (section(&session, "Failed", &failed))
        (section(&session, "Pending", &pending))
        (section(&session, "Held (partner disabled or without a notification URL)", &held))
        (section(&session, "Delivered, latest", &delivered))
    };
    Ok(page(
        Some(&session),
        "Notifications",
        "/notifications",
        content,
    ))
}

/// `GET /notifications/{id}`: one notification, its body and every attempt.
pub(crate) async fn detail(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Html<String>, ConsoleError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ConsoleError::NotFound("no such notification"))?;
    let detail = state
        .inner
        .store
        .notification(id)
        .await?
        .ok_or(ConsoleError::NotFound("no such notification"))?;
    let n = &detail.summary;
    let content = html! {
        p {
            (n.event.as_str()) " notification to " code { (n.client_id) } " for QR " (n.id_qr)
            ", payment " (n.payment_id) ": " strong.status { (n.status.as_str()) }
            ", " (n.attempts) " attempts."
        }
        (resend_form(&session, n))
        h2 { "Body (signed again at each attempt)" }
        pre.mono #body { (detail.body) }
        h2 { "Attempts" }
        @if detail.attempts.is_empty() {
            p.muted { "None yet." }
        } @else {
            table #attempts {
                thead { tr {
                    th.num { "#" } th { "Started" } th.num { "Latency" } th.num { "HTTP" }
                    th { "responseCode" } th { "Error" }
                } }
                tbody {
                    @for a in &detail.attempts {
                        tr {
                            td.num { (a.attempt) }
                            td { (moment(a.started_at)) }
                            td.num { (format!("{:.1} ms", a.latency.as_secs_f64() * 1e3)) }
                            td.num { @if let Some(s) = a.http_status { (s) } }
                            td { code { (a.response_code.as_deref().unwrap_or("")) } }
                            td { (a.error.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    };
    let title = format!("Notification {id}");
    Ok(page(Some(&session), &title, "/notifications", content))
}

/// The resend form's field.
#[derive(Deserialize)]
pub(crate) struct ResendForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /notifications/{id}/resend`: queued again, due now (as `admin notify resend`).
pub(crate) async fn resend(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<ResendForm>,
) -> Result<Response, ConsoleError> {
    session.check_csrf(&form.csrf)?;
    let id: i64 = id
        .parse()
        .map_err(|_| ConsoleError::NotFound("no such notification"))?;
    let now = state.inner.clock.now();
    match state.inner.store.resend_notification(id, now).await {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => {
            return Err(ConsoleError::NotFound("no such notification"));
        }
        Err(other) => return Err(other.into()),
    }
    // The local worker attempts it now rather than at its next poll.
    state.inner.outbox_wakeup.notify_one();
    audit(&state, &session, "notification.resend", &id.to_string(), "").await?;
    Ok(Redirect::to(&format!("/notifications/{id}")).into_response())
}
