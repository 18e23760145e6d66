//! Logging in and out. Wrong passwords are slowed (each answer waits [`WRONG_PASSWORD_DELAY`])
//! and limited per name and per client address by the store's login gate, which every node
//! shares.

use super::auth::{self, Session, SessionId};
use super::layout::page;
use super::{ConsoleError, audit};
use crate::listener::PeerAddress;
use crate::state::AppState;
use axum::extract::{Extension, Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use snapqris_store::LoginGate;
use std::time::Duration;

/// How long an answer to a wrong password waits: guessing is slow even within the limits.
const WRONG_PASSWORD_DELAY: Duration = Duration::from_millis(500);

/// The longest name and password looked at (longer ones are wrong, without hashing them).
const MAX_FIELD: usize = 256;

/// `GET /login`.
pub(crate) async fn login_page() -> Response {
    login_form(StatusCode::OK, None)
}

fn login_form(status: StatusCode, message: Option<&str>) -> Response {
    let content = html! {
        @if let Some(message) = message {
            p.error role="alert" { (message) }
        }
        form.login method="post" action="/login" {
            label for="name" { "Operator name" }
            input #name type="text" name="name" autocomplete="username" required autofocus;
            label for="password" { "Password" }
            input #password type="password" name="password" autocomplete="current-password" required;
            button type="submit" { "Log in" }
        }
    };
    (status, page(None, "Log in", "", content)).into_response()
}

/// The login form's fields.
#[derive(Deserialize)]
pub(crate) struct LoginForm {
    name: String,
    password: String,
}

/// `POST /login`: a session cookie and the overview, or the form again with why not.
pub(crate) async fn login(
    State(state): State<AppState>,
    Extension(PeerAddress(peer)): Extension<PeerAddress>,
    Form(form): Form<LoginForm>,
) -> Result<Response, ConsoleError> {
    let store = &state.inner.store;
    let now = state.inner.clock.now();
    let name: String = form.name.chars().take(MAX_FIELD).collect();
    let address = peer.ip().to_string();
    match store.admit_login(&name, &address, now).await? {
        LoginGate::Admitted => {}
        LoginGate::NameLocked | LoginGate::AddressLocked => {
            tokio::time::sleep(WRONG_PASSWORD_DELAY).await;
            let message = "Too many wrong passwords: this name or address is locked for 15 \
                           minutes.";
            return Ok(login_form(StatusCode::TOO_MANY_REQUESTS, Some(message)));
        }
    }
    let operator = store.operator(&name).await?;
    let hash = operator
        .as_ref()
        .map_or(auth::decoy_hash(), |o| o.password_hash.as_str())
        .to_owned();
    let password = form.password;
    let right = password.len() <= MAX_FIELD
        && tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
            .await
            .map_err(|_| ConsoleError::internal("the password check failed"))?;
    if !(right && operator.is_some()) {
        tokio::time::sleep(WRONG_PASSWORD_DELAY).await;
        return Ok(login_form(
            StatusCode::UNAUTHORIZED,
            Some("Wrong name or password."),
        ));
    }
    store.clear_login_failures(&name).await?;
    let id = SessionId::generate()?;
    store.start_console_session(&id.hash(), &name, now).await?;
    let session = Session { operator: name, id };
    audit(&state, &session, "login", &session.operator, &address).await?;
    let mut response = Redirect::to("/").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session
            .id
            .cookie()
            .parse()
            .map_err(|_| ConsoleError::internal("the session cookie is not a header value"))?,
    );
    Ok(response)
}

/// The logout form's field.
#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout`: ends the session in the store and in the browser.
pub(crate) async fn logout(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    session.check_csrf(&form.csrf)?;
    state
        .inner
        .store
        .end_console_session(&session.id.hash())
        .await?;
    audit(&state, &session, "logout", &session.operator, "").await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        auth::expired_cookie()
            .parse()
            .map_err(|_| ConsoleError::internal("the cookie is not a header value"))?,
    );
    Ok((headers, Redirect::to("/login")).into_response())
}
