//! The partners, merchants and audit log pages, and the partner and merchant actions.

use super::auth::Session;
use super::layout::{csrf_field, moment, page};
use super::{ConsoleError, audit};
use crate::state::AppState;
use axum::extract::{Form, Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

/// The most audit entries on one page.
const AUDIT_PAGE: u32 = 100;
/// The longest blacklisting reason kept.
const MAX_REASON: usize = 200;

/// `GET /partners`: every partner, what it may do and where its notifications go. Never its
/// client secret or key.
pub(crate) async fn partners(
    State(state): State<AppState>,
    session: Session,
) -> Result<Html<String>, ConsoleError> {
    let partners = state.inner.store.partners().await?;
    let counts = super::notifications::counts_of(&state, &partners).await?;
    let content = html! {
        table #partners {
            thead { tr {
                th { "Client id" } th { "Signature" } th { "Services" } th { "Enabled" }
                th { "Notification URL" } th.num { "Pending" } th.num { "Failed" } th { "Action" }
            } }
            tbody {
                @for (partner, count) in partners.iter().zip(&counts) {
                    tr data-client-id=(partner.client_id) {
                        td { code { (partner.client_id) } }
                        td { (partner.signature_mode.as_str()) }
                        td.mono {
                            (partner.services.iter().map(|s| s.code().to_string())
                                .collect::<Vec<_>>().join(","))
                        }
                        td.enabled {
                            @if partner.enabled { span.yes { "yes" } } @else { span.no { "no" } }
                        }
                        td.mono { (partner.callback_url.as_deref().unwrap_or("—")) }
                        td.num.pending { (count.pending) }
                        td.num.failed { (count.failed) }
                        td {
                            @let (action, label) = if partner.enabled {
                                ("disable", "Disable")
                            } else {
                                ("enable", "Enable")
                            };
                            form.inline method="post"
                                action={ "/partners/" (partner.client_id) "/" (action) } {
                                (csrf_field(&session))
                                button.danger[partner.enabled] type="submit" { (label) }
                            }
                        }
                    }
                }
            }
        }
        @if partners.is_empty() { p.muted { "No partners yet (snapqris admin partner add)." } }
    };
    Ok(page(Some(&session), "Partners", "/partners", content))
}

/// An action form with nothing but its CSRF token.
#[derive(Deserialize)]
pub(crate) struct ActionForm {
    #[serde(default)]
    csrf: String,
    /// A blacklisting's reason.
    #[serde(default)]
    reason: String,
}

/// `POST /partners/{client_id}/enable|disable` (`admin partner enable|disable`).
pub(crate) async fn partner_action(
    State(state): State<AppState>,
    session: Session,
    Path((client_id, action)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Result<Response, ConsoleError> {
    session.check_csrf(&form.csrf)?;
    let enabled = match action.as_str() {
        "enable" => true,
        "disable" => false,
        _ => return Err(ConsoleError::NotFound("no such action")),
    };
    let now = state.inner.clock.now();
    state
        .inner
        .store
        .set_partner_enabled(&client_id, enabled, now)
        .await
        .map_err(|e| not_found_as(e, "no such partner"))?;
    audit(
        &state,
        &session,
        &format!("partner.{action}"),
        &client_id,
        "",
    )
    .await?;
    Ok(Redirect::to("/partners").into_response())
}

fn not_found_as(error: snapqris_store::StoreError, what: &'static str) -> ConsoleError {
    match error {
        snapqris_store::StoreError::NotFound(_) => ConsoleError::NotFound(what),
        other => other.into(),
    }
}

/// The merchants page's filter.
#[derive(Deserialize)]
pub(crate) struct MerchantFilter {
    /// Only this partner's merchants (empty: all).
    #[serde(default)]
    partner: String,
}

/// `GET /merchants?partner=…`: merchants by partner with their blacklist state.
pub(crate) async fn merchants(
    State(state): State<AppState>,
    session: Session,
    Query(filter): Query<MerchantFilter>,
) -> Result<Html<String>, ConsoleError> {
    let store = &state.inner.store;
    let partners = store.partners().await?;
    let partner = Some(filter.partner.as_str()).filter(|p| !p.is_empty());
    let merchants = store.merchants(partner).await?;
    let today = snapqris_protocol::JakartaDate::of_instant(state.inner.clock.now()).to_string();
    let content = html! {
        form.filters method="get" action="/merchants" {
            label { "Partner " select name="partner" {
                option value="" { "all" }
                @for p in &partners {
                    option value=(p.client_id) selected[partner == Some(p.client_id.as_str())] {
                        (p.client_id)
                    }
                }
            } }
            button type="submit" { "Show" }
        }
        table #merchants {
            thead { tr {
                th { "Merchant id" } th { "Partner" } th { "Name" } th { "City" }
                th { "Blacklisted" } th { "Action" } th { "Day" }
            } }
            tbody {
                @for m in &merchants {
                    tr data-merchant-id=(m.merchant_id) {
                        td { code { (m.merchant_id) } }
                        td { code { (m.client_id) } }
                        td { (m.name) }
                        td { (m.city) }
                        td.blacklisted {
                            @match &m.blacklisted {
                                Some(b) => span.no {
                                    "since " (moment(b.since))
                                    @if let Some(reason) = &b.reason { ": " (reason) }
                                },
                                None => span.yes { "no" },
                            }
                        }
                        td {
                            @if m.blacklisted.is_some() {
                                form.inline method="post"
                                    action={ "/merchants/" (m.merchant_id) "/unblacklist" } {
                                    (csrf_field(&session))
                                    button type="submit" { "Unblacklist" }
                                }
                            } @else {
                                form.inline method="post"
                                    action={ "/merchants/" (m.merchant_id) "/blacklist" } {
                                    (csrf_field(&session))
                                    input type="text" name="reason" placeholder="reason"
                                        maxlength=(MAX_REASON) aria-label="Reason";
                                    button.danger type="submit" { "Blacklist" }
                                }
                            }
                        }
                        td {
                            a href={ "/merchants/" (m.merchant_id) "/day?date=" (today) } {
                                "QRs of the day"
                            }
                        }
                    }
                }
            }
        }
        @if merchants.is_empty() { p.muted { "No merchants." } }
    };
    Ok(page(Some(&session), "Merchants", "/merchants", content))
}

/// `POST /merchants/{merchant_id}/blacklist|unblacklist` (`admin merchant blacklist
/// [--reason]|unblacklist`).
pub(crate) async fn merchant_action(
    State(state): State<AppState>,
    session: Session,
    Path((merchant_id, action)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Result<Response, ConsoleError> {
    session.check_csrf(&form.csrf)?;
    let reason: String = form.reason.trim().chars().take(MAX_REASON).collect();
    let blacklist = match action.as_str() {
        "blacklist" => Some(Some(reason.as_str()).filter(|r| !r.is_empty())),
        "unblacklist" => None,
        _ => return Err(ConsoleError::NotFound("no such action")),
    };
    let now = state.inner.clock.now();
    state
        .inner
        .store
        .set_merchant_blacklist(&merchant_id, blacklist, now)
        .await
        .map_err(|e| not_found_as(e, "no such merchant"))?;
    let detail = if action == "blacklist" {
        reason
    } else {
        String::new()
    };
    audit(
        &state,
        &session,
        &format!("merchant.{action}"),
        &merchant_id,
        &detail,
    )
    .await?;
    Ok(Redirect::to("/merchants").into_response())
}

/// The audit page's position.
#[derive(Deserialize)]
pub(crate) struct AuditQuery {
    /// Entries older than this id.
    before: Option<i64>,
}

/// `GET /audit`: the audit log, newest first, a page at a time.
pub(crate) async fn audit_page(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<AuditQuery>,
) -> Result<Html<String>, ConsoleError> {
    let entries = state
        .inner
        .store
        .audit_log(AUDIT_PAGE + 1, query.before)
        .await?;
    let more = entries.len() > AUDIT_PAGE as usize;
    let entries = &entries[..entries.len().min(AUDIT_PAGE as usize)];
    let content = html! {
        table #audit {
            thead { tr {
                th.num { "Id" } th { "Time" } th { "Operator" } th { "Action" } th { "Target" }
                th { "Detail" }
            } }
            tbody {
                @for e in entries {
                    tr {
                        td.num { (e.id) }
                        td { (moment(e.entry.at)) }
                        td { (e.entry.operator) }
                        td.action { code { (e.entry.action) } }
                        td.target { code { (e.entry.target) } }
                        td { (e.entry.detail) }
                    }
                }
            }
        }
        @if entries.is_empty() { p.muted { "Nothing recorded yet." } }
        @if more {
            @if let Some(last) = entries.last() {
                nav.pager { a href={ "/audit?before=" (last.id) } { "Older entries →" } }
            }
        }
    };
    Ok(page(Some(&session), "Audit log", "/audit", content))
}
