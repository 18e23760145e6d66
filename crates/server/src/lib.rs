//! The snapqris HTTP API: SNAP BI B2B token (73), QRIS generate (47), generate list (90),
//! query (51) and expire by bill number (93).
//!
//! [`app`] builds the axum [`Router`] from an [`AppState`] (configuration, store, clock);
//! [`serve`] runs it on a listener until a shutdown signal. Handlers are thin: the SNAP
//! pipeline (headers, token, timestamp, signature, `X-EXTERNAL-ID` claim) lives in `snap.rs`,
//! and `error.rs` is the one place that maps failures to `responseCode`s.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use snapqris_server::{AppState, ServerConfig, SystemClock};
//! use std::sync::Arc;
//!
//! let store = snapqris_store::connect("sqlite://snapqris.db", &Default::default()).await?;
//! let state = AppState::new(ServerConfig::default(), store, Arc::new(SystemClock)).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! snapqris_server::serve(listener, state, std::future::pending()).await?;
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod callback;
mod clock;
mod config;
mod console;
mod directory;
mod error;
mod listener;
mod metrics;
mod notification_key;
mod notify;
mod openapi;
mod panic_guard;
mod rate_limit;
mod reply;
mod request_ring;
mod retention;
mod services;
mod snap;
mod stall;
mod state;
mod telemetry;
mod token;
mod wire;

pub use crate::callback::{CallbackUrl, CallbackUrlError, MAX_CALLBACK_URL};
pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use crate::config::{ConfigError, ServerConfig};
pub use crate::console::{generate_password, hash_password};
pub use crate::error::ApiError;
pub use crate::notification_key::{
    NOTIFICATION_KEY_NAME, NotificationKeyError, notification_key, rotate_notification_key,
};
pub use crate::notify::{
    CaFileError, DEFAULT_RETRY_SCHEDULE, NOTIFY_PATH, NextAttempt, RetrySchedule,
    RetryScheduleError, parse_retry_after, read_ca_file,
};
pub use crate::state::{AppState, StateError};

use axum::Router;
use axum::routing::{get, post};
use services::operations;
use snapqris_protocol::ServiceCode;
use std::future::Future;

/// The `service` label of a request path, for logs and metrics.
pub(crate) fn service_label(path: &str) -> &'static str {
    const SERVICES: [(ServiceCode, &str); 8] = [
        (ServiceCode::AccessToken, "73"),
        (ServiceCode::GenerateQr, "47"),
        (ServiceCode::Payment, "50"),
        (ServiceCode::GenerateList, "90"),
        (ServiceCode::Query, "51"),
        (ServiceCode::ExpireBillNumber, "93"),
        (ServiceCode::Cancel, "77"),
        (ServiceCode::Refund, "78"),
    ];
    SERVICES
        .iter()
        .find(|(service, _)| path.ends_with(service.path()))
        .map(|(_, label)| *label)
        .unwrap_or(match path {
            "/health" => "health",
            "/metrics" => "metrics",
            _ if path == "/openapi.json" || path.starts_with("/docs") => "docs",
            _ => "other",
        })
}

/// The whole HTTP API as a router.
pub fn app(state: AppState) -> Router {
    let prefix = state.config().path_prefix.trim_end_matches('/').to_owned();
    metrics::prometheus();
    let docs = utoipa_swagger_ui::SwaggerUi::new("/docs")
        .external_url_unchecked("/openapi.json", openapi::document(&prefix));
    // Routes carry the prefix themselves (no `nest`), so handlers see, and signatures cover,
    // the path exactly as the client sent it.
    Router::new()
        .route(
            &format!("{prefix}{}", ServiceCode::AccessToken.path()),
            post(services::token::access_token),
        )
        .route(
            &format!("{prefix}{}", ServiceCode::GenerateQr.path()),
            post(services::generate::generate_qr),
        )
        .route(
            &format!("{prefix}{}", ServiceCode::GenerateList.path()),
            post(services::generate_list::generate_list),
        )
        .route(
            &format!("{prefix}{}", ServiceCode::Payment.path()),
            post(services::payment::pay_qr),
        )
        .route(
            &format!("{prefix}{}", ServiceCode::Query.path()),
            post(services::query::query_qr),
        )
        .route(
            &format!("{prefix}{}", ServiceCode::ExpireBillNumber.path()),
            post(services::expire::expire_bill),
        )
        .route(
            &format!("{prefix}{}", ServiceCode::Refund.path()),
            post(services::refund::refund_qr),
        )
        .route(
            &format!("{prefix}{}", ServiceCode::Cancel.path()),
            post(services::cancel::cancel_qr),
        )
        .route("/health", get(operations::health))
        .route("/metrics", get(metrics::render))
        .merge(docs)
        .fallback(operations::not_found)
        .method_not_allowed_fallback(operations::method_not_allowed)
        // Inside the request log, so a caught panic is logged and counted as its 500xx00.
        .layer(axum::middleware::from_fn(panic_guard::catch_panic))
        .layer(axum::middleware::from_fn(telemetry::log_request))
        .with_state(state)
}

/// Serves [`app`] on `listener` until `shutdown` completes; in-flight requests finish first
/// (for at most 30 s). Also runs, while serving, the background retention of claimed
/// `X-EXTERNAL-ID`s and the notification delivery worker (CONTRACT §6.2), which stops leasing
/// as soon as `shutdown` completes and lets its in-flight attempts finish within
/// `notify-timeout`.
///
/// Slow clients cannot hold the server: a header block must arrive within `request-timeout`
/// (else the connection is closed), a body within `request-timeout` of the request (else
/// `504xx00`), and a header block over 64 KiB gets hyper's bare `431`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let retention = tokio::spawn(retention::run(state.clone()));
    let worker = notify::Worker::start(&state)?;
    let header_timeout = state.config().request_timeout;
    let stop_leasing = worker.stop_signal();
    let shutdown = async move {
        shutdown.await;
        stop_leasing();
    };
    let served = listener::accept_loop(
        listener,
        app(state.clone()),
        header_timeout,
        false,
        shutdown,
    )
    .await;
    retention.abort();
    worker.stop(state.config().notify_timeout).await;
    state.release_node().await;
    served
}

/// Serves the operator console (CONTRACT §7) on `listener` until `shutdown` completes, with the
/// same connection limits as [`serve`]. Run it beside [`serve`] on a clone of the same state:
/// it shows that server's store and request figures.
pub async fn serve_console(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let header_timeout = state.config().request_timeout;
    listener::accept_loop(
        listener,
        console::router(state),
        header_timeout,
        true,
        shutdown,
    )
    .await
}
