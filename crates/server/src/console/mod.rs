//! The operator console (CONTRACT §7): server-rendered pages on their own listener, apart from
//! the partner API.
//!
//! Pages are `maud` templates compiled into the binary and the one stylesheet is embedded, so
//! nothing is fetched from elsewhere and every page reads without JavaScript; charts are SVG
//! drawn here. Everything shown comes from the store (so every node shows the same), except
//! the overview's request figures, which are this node's (`request_ring.rs`). Every action is
//! a POST form carrying the session's CSRF token, goes through the same store operation as the
//! CLI, and is written to the audit log.

mod auth;
mod charts;
mod day;
mod layout;
mod login;
mod notifications;
mod overview;
mod pages;
#[cfg(test)]
mod tests;

pub use auth::{generate_password, hash_password};

use crate::state::AppState;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use snapqris_store::{NewAuditEntry, StoreError};

/// The console's router (state: the same [`AppState`] as the partner API).
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(overview::overview))
        .route("/login", get(login::login_page).post(login::login))
        .route("/logout", post(login::logout))
        .route("/partners", get(pages::partners))
        .route(
            "/partners/{client_id}/{action}",
            post(pages::partner_action),
        )
        .route("/merchants", get(pages::merchants))
        .route(
            "/merchants/{merchant_id}/{action}",
            post(pages::merchant_action),
        )
        .route("/merchants/{merchant_id}/day", get(day::merchant_day))
        .route("/merchants/{merchant_id}/qr/{id_qr}", get(day::qr_image))
        .route("/notifications", get(notifications::list))
        .route("/notifications/{id}", get(notifications::detail))
        .route("/notifications/{id}/resend", post(notifications::resend))
        .route("/audit", get(pages::audit_page))
        .route("/assets/console.css", get(layout::stylesheet))
        .fallback(not_found)
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// Pages are never cached, never framed, and may load only what this server serves.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let fixed = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

async fn not_found(session: auth::Session) -> Response {
    ConsoleError::NotFound("no such page").into_page(Some(&session))
}

/// Why a console request did not get its page.
#[derive(Debug)]
pub(crate) enum ConsoleError {
    /// No live session: to the login page.
    LoggedOut,
    /// A form without this session's CSRF token (`403`, nothing done).
    Csrf,
    /// The thing asked for does not exist (`404`).
    NotFound(&'static str),
    /// The request is malformed (`400`), said in words.
    BadRequest(String),
    /// The store failed (`500`; the cause is logged, not shown).
    Store(StoreError),
    /// Something else failed on the server's side (`500`).
    Internal(&'static str),
}

impl ConsoleError {
    pub(crate) fn internal(what: &'static str) -> ConsoleError {
        ConsoleError::Internal(what)
    }

    /// The error as a page, with the navigation when the operator is logged in.
    pub(crate) fn into_page(self, session: Option<&auth::Session>) -> Response {
        let (status, message) = match self {
            ConsoleError::LoggedOut => return Redirect::to("/login").into_response(),
            ConsoleError::Csrf => (
                StatusCode::FORBIDDEN,
                "Refused: the form's CSRF token is missing or not this session's. Nothing was \
                 changed."
                    .to_owned(),
            ),
            ConsoleError::NotFound(what) => (StatusCode::NOT_FOUND, format!("Not found: {what}.")),
            ConsoleError::BadRequest(why) => (StatusCode::BAD_REQUEST, why),
            ConsoleError::Store(error) => {
                tracing::error!(error = %crate::error::Chain(&error), "console: the store failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The store failed; see the server log.".to_owned(),
                )
            }
            ConsoleError::Internal(what) => {
                tracing::error!(what, "console: internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal error; see the server log.".to_owned(),
                )
            }
        };
        let body = layout::page(
            session,
            status.canonical_reason().unwrap_or("Error"),
            "",
            maud::html! { p.error role="alert" { (message) } },
        );
        (status, body).into_response()
    }
}

impl From<StoreError> for ConsoleError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(_) => ConsoleError::NotFound("no such record"),
            other => ConsoleError::Store(other),
        }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        self.into_page(None)
    }
}

/// Writes an operator's action to the audit log.
pub(crate) async fn audit(
    state: &AppState,
    session: &auth::Session,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<(), ConsoleError> {
    let entry = NewAuditEntry {
        operator: session.operator.clone(),
        action: action.to_owned(),
        target: target.to_owned(),
        detail: detail.to_owned(),
        at: state.inner.clock.now(),
    };
    state.inner.store.append_audit(&entry).await?;
    Ok(())
}
