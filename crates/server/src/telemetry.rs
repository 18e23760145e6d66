//! One structured log line per request, and one tracing span per request: every line logged
//! while serving it, the request line included, carries the span's `request_id`.

use crate::error::{Chain, InternalCause};
use crate::reply::ResponseCodeTag;
use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use hyper::body::{Frame, SizeHint};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;
use tracing::{Instrument, Span};

static REQUEST_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A header as text for the log: at most 64 characters, never a secret (callers only pass
/// identifiers; `Authorization` and `X-SIGNATURE` are never logged).
fn header_for_log(request: &Request, name: &str) -> Option<String> {
    let value = request.headers().get(name)?.to_str().ok()?;
    Some(value.chars().take(64).collect())
}

/// Serves the request inside its span `request{request_id=N}`, the response body included.
pub(crate) async fn log_request(request: Request, next: Next) -> Response {
    let request_id = REQUEST_COUNTER.fetch_add(1, Ordering::Relaxed);
    // The request line's target, so a filter that keeps request lines keeps their span; level
    // ERROR, so a failure's line carries the id whatever level the filter keeps.
    let span = tracing::error_span!(target: "snapqris::request", "request", request_id);
    let response = served_and_logged(request, next)
        .instrument(span.clone())
        .await;
    response.map(|body| Body::new(InSpan { body, span }))
}

/// Logs method, path, partner, external id, status, `responseCode` and latency; before that,
/// the cause of a `500xx00` answer with its whole chain.
async fn served_and_logged(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path: String = request.uri().path().chars().take(128).collect();
    let partner = header_for_log(&request, "x-partner-id")
        .or_else(|| header_for_log(&request, "x-client-key"));
    let external_id = header_for_log(&request, "x-external-id");
    let mut response = next.run(request).await;
    if let Some(InternalCause(cause)) = response.extensions_mut().remove::<InternalCause>() {
        tracing::error!(error = %Chain(&*cause), "request failed");
    }
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
        latency,
    );
    tracing::info!(
        target: "snapqris::request",
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

/// A response body read inside the request's span, so lines logged while it streams (a
/// generate-list page failing) carry the request id too.
struct InSpan {
    body: Body,
    span: Span,
}

impl hyper::body::Body for InSpan {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        let _entered = this.span.enter();
        Pin::new(&mut this.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
