//! Non-SNAP endpoints: health, and the JSON answers for unknown paths and methods.

use crate::error::Chain;
use crate::reply::snap_json;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `/health` asks the store at most this often, so probing it stays cheap under load.
const HEALTH_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// The last store check: when, and whether it answered.
#[derive(Debug, Default)]
pub(crate) struct HealthMemo {
    last: Mutex<Option<(Instant, bool)>>,
}

/// `GET /health`: 200 when the store answers, 503 otherwise.
pub(crate) async fn health(State(state): State<AppState>) -> Response {
    let memo = &state.inner.health;
    let cached = *memo.last.lock().unwrap_or_else(|p| p.into_inner());
    let healthy = match cached {
        Some((at, healthy)) if at.elapsed() < HEALTH_CHECK_INTERVAL => healthy,
        _ => {
            let healthy = match state.inner.store.ping().await {
                Ok(()) => true,
                Err(error) => {
                    tracing::warn!(error = %Chain(&error), "store did not answer the health check");
                    false
                }
            };
            *memo.last.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), healthy));
            healthy
        }
    };
    if healthy {
        (
            StatusCode::OK,
            axum::Json(serde_json::json!({"status": "ok"})),
        )
            .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "unavailable"})),
        )
            .into_response()
    }
}

/// Any path the API does not have.
pub(crate) async fn not_found() -> Response {
    snap_json(404, "4040000", "Not Found")
}

/// A known path called with another method.
pub(crate) async fn method_not_allowed() -> Response {
    snap_json(405, "4050000", "Requested Function Is Not Supported")
}
