//! Prometheus metrics: requests by service and `responseCode`, latency histograms, store pool
//! use and `X-EXTERNAL-ID` claims, rendered at `GET /metrics`.

use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use snapqris_store::NotificationBacklog;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};
use time::OffsetDateTime;

/// Request latency buckets in seconds: 0.5 ms to 10 s (the default request timeout).
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Notification attempt latency buckets in seconds: 5 ms to 60 s (past any `notify-timeout`
/// one would choose).
const ATTEMPT_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide recorder (the `metrics` facade has one global recorder; every app in the
/// process, as in the test suite, reports into it).
pub(crate) fn prometheus() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("snapqris_request_duration_seconds".into()),
                &LATENCY_BUCKETS,
            )
            .expect("the bucket list is not empty")
            .set_buckets_for_metric(
                Matcher::Full("snapqris_notification_attempt_duration_seconds".into()),
                &ATTEMPT_BUCKETS,
            )
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was installed already; /metrics stays empty");
        }
        handle
    })
}

/// Counts one answered request and its latency.
pub(crate) fn record_request(service: &'static str, response_code: String, latency: Duration) {
    crate::request_ring::RING.record(SystemTime::now(), service, &response_code, latency);
    let seconds = latency.as_secs_f64();
    metrics::counter!("snapqris_requests_total", "service" => service, "response_code" => response_code)
        .increment(1);
    metrics::histogram!("snapqris_request_duration_seconds", "service" => service).record(seconds);
}

/// Counts an `X-EXTERNAL-ID` claim: `claimed`, `reused` or `released`.
pub(crate) fn record_claim(outcome: &'static str) {
    metrics::counter!("snapqris_external_id_claims_total", "outcome" => outcome).increment(1);
}

/// Counts one notification attempt by outcome (`delivered`, `retry`, `failed`) and its
/// latency (CONTRACT §6.2).
pub(crate) fn record_notification_attempt(outcome: &'static str, seconds: f64) {
    metrics::counter!("snapqris_notification_attempts_total", "outcome" => outcome).increment(1);
    metrics::histogram!("snapqris_notification_attempt_duration_seconds").record(seconds);
}

/// Notifications waiting in the outbox (of every node: the store's count), by whether their
/// partner can receive them (`pending`) or not yet (`held`), and how long the longest-waiting
/// one that could go out has been due (0 when none is): attempts starting late show there
/// before anywhere else.
pub(crate) fn set_notification_backlog(backlog: &NotificationBacklog, now: OffsetDateTime) {
    metrics::gauge!("snapqris_notifications_pending").set(backlog.pending as f64);
    metrics::gauge!("snapqris_notifications_held").set(backlog.held as f64);
    let waited = backlog
        .oldest_due
        .map_or(0.0, |due| (now - due).as_seconds_f64().max(0.0));
    metrics::gauge!("snapqris_notifications_oldest_due_seconds").set(waited);
}

/// `GET /metrics` in the Prometheus text format.
pub(crate) async fn render(State(state): State<AppState>) -> Response {
    for pool in state.inner.store.pool_usage() {
        metrics::gauge!("snapqris_store_pool_connections", "pool" => pool.name, "state" => "open")
            .set(f64::from(pool.open));
        metrics::gauge!("snapqris_store_pool_connections", "pool" => pool.name, "state" => "idle")
            .set(f64::from(pool.idle));
        metrics::gauge!("snapqris_store_pool_connections", "pool" => pool.name, "state" => "max")
            .set(f64::from(pool.max));
    }
    let handle = prometheus();
    handle.run_upkeep();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}
