//! A merchant's day: the QRs service 90 lists for that Jakarta day (the same store stream,
//! newest first), each with its status as service 51 reports it, its payments, the refunds of its latest
//! payment, and its image.

use super::ConsoleError;
use super::auth::Session;
use super::layout::{page, rupiah};
use crate::services::query::status;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use futures_util::StreamExt;
use maud::html;
use serde::Deserialize;
use snapqris_protocol::{JakartaDate, format_rfc3339_jakarta};
use snapqris_store::{QrCode, QrSummary};
use std::collections::HashMap;

/// QRs on one page: a day of a thousand shows whole (BENCHMARKS.md: under 300 ms of server
/// time); bigger days page.
pub(crate) const PAGE_SIZE: usize = 1000;
/// Pixels per module of a QR's PNG.
const PNG_SCALE: u32 = 8;

/// The day page's query.
#[derive(Deserialize)]
pub(crate) struct DayQuery {
    /// The Jakarta day, `YYYY-MM-DD` (empty: today).
    #[serde(default)]
    date: String,
    /// The page, from 0.
    #[serde(default)]
    page: usize,
}

/// `GET /merchants/{merchant_id}/day?date=…&page=…`.
pub(crate) async fn merchant_day(
    State(state): State<AppState>,
    session: Session,
    Path(merchant_id): Path<String>,
    Query(query): Query<DayQuery>,
) -> Result<Html<String>, ConsoleError> {
    let store = &state.inner.store;
    let now = state.inner.clock.now();
    let merchant = store
        .merchant(&merchant_id)
        .await?
        .ok_or(ConsoleError::NotFound("no such merchant"))?;
    let day = if query.date.is_empty() {
        JakartaDate::of_instant(now)
    } else {
        JakartaDate::parse(&query.date)
            .ok()
            .filter(|_| query.date.len() == 10)
            .ok_or_else(|| ConsoleError::BadRequest("The date must be YYYY-MM-DD.".into()))?
    };
    let skip = query.page.saturating_mul(PAGE_SIZE);
    // One more than a page: whether there is a next one.
    let listed: Vec<QrSummary> = store
        .list_day(&merchant_id, day)
        .skip(skip)
        .take(PAGE_SIZE + 1)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let more = listed.len() > PAGE_SIZE;
    let listed = &listed[..listed.len().min(PAGE_SIZE)];
    let ids: Vec<i64> = listed.iter().map(|qr| qr.id_qr).collect();
    let details: HashMap<i64, QrCode> = store
        .qrs_by_ids(&merchant_id, &ids)
        .await?
        .into_iter()
        .map(|qr| (qr.id_qr, qr))
        .collect();
    let date = day.to_string();
    let link = |page: usize| format!("/merchants/{merchant_id}/day?date={date}&page={page}");
    let content = html! {
        p { "Merchant " code { (merchant.merchant_id) } " (" (merchant.name) ", " (merchant.city)
            ") of partner " code { (merchant.client_id) } "." }
        form.filters method="get" action={ "/merchants/" (merchant_id) "/day" } {
            label { "Jakarta day " input type="date" name="date" value=(date); }
            button type="submit" { "Show" }
        }
        p.muted #day-summary {
            @if listed.is_empty() { "No QRs on " (date) "." }
            @else { "QRs " (skip + 1) "–" (skip + listed.len()) " of " (date) ", newest first." }
        }
        @if !listed.is_empty() {
            table #qrs {
                thead { tr {
                    th.num { "id_qr" } th { "Reference" } th { "Type" } th.num { "Amount" }
                    th { "Generated" } th { "Expires" } th { "Status" } th.num { "Payments" }
                    th { "Latest payment" } th.num { "Refunded" } th { "QR" }
                } }
                tbody {
                    @for item in listed {
                        @let detail = details.get(&item.id_qr);
                        tr data-id-qr=(item.id_qr) {
                            td.num { (item.id_qr) }
                            td { @if let Some(qr) = detail { code { (qr.partner_reference_no) } } }
                            td { (item.kind.as_str()) }
                            td.num { @if let Some(sen) = item.amount_sen { (rupiah(sen)) } }
                            td { (format_rfc3339_jakarta(item.generated_at)) }
                            td { @if let Some(at) = item.expires_at { (format_rfc3339_jakarta(at)) } }
                            @if let Some(qr) = detail {
                                @let (code, description) = status(qr, now);
                                td.status { span class={ "status-" (code) } { (code) } " " (description) }
                                td.num.payments { (qr.payment_count) }
                                td {
                                    @if let (Some(at), Some(sen)) = (qr.paid_at, qr.paid_amount_sen) {
                                        (rupiah(sen)) " at " (format_rfc3339_jakarta(at))
                                        @if let Some(id) = qr.latest_payment_id {
                                            " " span.muted { "(payment " (id) ")" }
                                        }
                                    }
                                }
                                // Of the latest payment, as query (51) reports it.
                                td.num.refunded {
                                    @if let Some(sen) = qr.latest_refunded_sen.filter(|sen| *sen > 0) {
                                        (rupiah(sen))
                                    }
                                }
                                td {
                                    a href={ "/merchants/" (merchant_id) "/qr/" (item.id_qr) } {
                                        img.qr src={ "/merchants/" (merchant_id) "/qr/" (item.id_qr) }
                                            loading="lazy" width="96" height="96"
                                            alt={ "QR " (item.id_qr) };
                                    }
                                }
                            } @else {
                                // Listed, then gone before its details were read (never
                                // deleted today; kept honest should that change).
                                td colspan="5" { span.muted { "no longer stored" } }
                            }
                        }
                    }
                }
            }
        }
        nav.pager {
            @if query.page > 0 { a rel="prev" href=(link(query.page - 1)) { "← Newer" } }
            @if more { a rel="next" href=(link(query.page + 1)) { "Older →" } }
        }
    };
    let title = format!("{} on {date}", merchant.merchant_id);
    Ok(page(Some(&session), &title, "/merchants", content))
}

/// The QR image's query.
#[derive(Deserialize)]
pub(crate) struct ImageQuery {
    /// `svg` (default) or `png`.
    #[serde(default)]
    format: String,
}

/// `GET /merchants/{merchant_id}/qr/{id_qr}?format=svg|png`: the QR drawn from its stored
/// payload.
pub(crate) async fn qr_image(
    State(state): State<AppState>,
    _session: Session,
    Path((merchant_id, id_qr)): Path<(String, String)>,
    Query(query): Query<ImageQuery>,
) -> Result<Response, ConsoleError> {
    let id_qr: i64 = id_qr
        .parse()
        .map_err(|_| ConsoleError::NotFound("no such QR"))?;
    let qr = state
        .inner
        .store
        .qr_by_id(&merchant_id, id_qr)
        .await?
        .ok_or(ConsoleError::NotFound("no such QR"))?;
    let cache = (header::CACHE_CONTROL, "private, max-age=3600");
    let drawn = match query.format.as_str() {
        "" | "svg" => snapqris_qrimage::render_svg(&qr.qr_content)
            .map(|svg| ([(header::CONTENT_TYPE, "image/svg+xml"), cache], svg).into_response()),
        "png" => snapqris_qrimage::render_png(&qr.qr_content, PNG_SCALE)
            .map(|png| ([(header::CONTENT_TYPE, "image/png"), cache], png).into_response()),
        _ => return Err(ConsoleError::BadRequest("The format is svg or png.".into())),
    };
    drawn.map_err(|_| ConsoleError::internal("a stored QR payload cannot be drawn"))
}
