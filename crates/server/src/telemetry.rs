//! One structured log line per request.

use crate::reply::ResponseCodeTag;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

static REQUEST_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A header as text for the log: at most 64 characters, never a secret (callers only pass
/// identifiers; `Authorization` and `X-SIGNATURE` are never logged).
fn header_for_log(request: &Request, name: &str) -> Option<String> {
    let value = request.headers().get(name)?.to_str().ok()?;
    Some(value.chars().take(64).collect())
}

/// Logs method, path, partner, external id, status, `responseCode` and latency.
pub(crate) async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = REQUEST_COUNTER.fetch_add(1, Ordering::Relaxed);
    let method = request.method().clone();
    let path: String = request.uri().path().chars().take(128).collect();
    let partner = header_for_log(&request, "x-partner-id")
        .or_else(|| header_for_log(&request, "x-client-key"));
    let external_id = header_for_log(&request, "x-external-id");
    let response = next.run(request).await;
    let response_code = response
        .extensions()
        .get::<ResponseCodeTag>()
        .map(|tag| tag.0.as_str())
        .unwrap_or("");
    let latency = started.elapsed();
    let service = crate::service_label(&path);
    crate::metrics::record_request(
        service,
        if response_code.is_empty() {
            response.status().as_u16().to_string()
        } else {
            response_code.to_owned()
        },
        latency.as_secs_f64(),
    );
    tracing::info!(
        target: "snapqris::request",
        request_id,
        method = %method,
        service,
        path = ?path,
        partner = ?partner.as_deref().unwrap_or(""),
        external_id = ?external_id.as_deref().unwrap_or(""),
        status = response.status().as_u16(),
        response_code,
        latency_us = latency.as_micros() as u64,
        "request"
    );
    response
}
