//! Prometheus metrics: requests by service and `responseCode`, latency histograms, store pool
//! use and `X-EXTERNAL-ID` claims, rendered at `GET /metrics`.

use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// Request latency buckets in seconds: 0.5 ms to 10 s (the default request timeout).
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
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
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was installed already; /metrics stays empty");
        }
        handle
    })
}

/// Counts one answered request and its latency.
pub(crate) fn record_request(service: &'static str, response_code: String, seconds: f64) {
    metrics::counter!("snapqris_requests_total", "service" => service, "response_code" => response_code)
        .increment(1);
    metrics::histogram!("snapqris_request_duration_seconds", "service" => service).record(seconds);
}

/// Counts an `X-EXTERNAL-ID` claim: `claimed`, `reused` or `released`.
pub(crate) fn record_claim(outcome: &'static str) {
    metrics::counter!("snapqris_external_id_claims_total", "outcome" => outcome).increment(1);
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
