//! Service 73: B2B access token (CONTRACT §4.1).

use crate::error::ApiError;
use crate::rate_limit;
use crate::reply::success;
use crate::snap::{
    json_object, optional_str, read_request, required_header, single_header, window,
};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::Request;
use axum::response::Response;
use serde_json::{Map, Value};
use snapqris_protocol::{ClientId, ServiceCode, XTimestamp, verify_token_request};

const SERVICE: ServiceCode = ServiceCode::AccessToken;

/// `POST /v1.0/access-token/b2b`.
pub(crate) async fn access_token(
    State(state): State<AppState>,
    request: Request<Body>,
) -> Response {
    let timeout = state.inner.config.request_timeout;
    match tokio::time::timeout(timeout, issue(&state, request)).await {
        Ok(Ok(response)) => response,
        Ok(Err(error)) => error.into_response_for(SERVICE),
        Err(_) => ApiError::Timeout.into_response_for(SERVICE),
    }
}

/// One message for unknown, disabled and mis-signing clients: the answer must not tell an
/// attacker which client ids exist.
const UNKNOWN_CLIENT: ApiError = ApiError::UnauthorizedClient("Invalid Client or Signature");

async fn issue(state: &AppState, request: Request<Body>) -> Result<Response, ApiError> {
    let request = read_request(state, request).await?;
    let headers = &request.parts.headers;
    let timestamp = XTimestamp::parse(required_header(headers, "x-timestamp", "X-TIMESTAMP")?)
        .map_err(|_| ApiError::InvalidHeader("X-TIMESTAMP"))?;
    let client_id = ClientId::parse(required_header(headers, "x-client-key", "X-CLIENT-KEY")?)
        .map_err(|_| ApiError::InvalidHeader("X-CLIENT-KEY"))?;
    let signature =
        single_header(headers, "x-signature", "X-SIGNATURE").map_err(|_| UNKNOWN_CLIENT)?;

    // Judged before the client is looked up, so a stale timestamp gets the same answer whether
    // the client id exists or not.
    timestamp
        .check_window(request.received_at, window(state))
        .map_err(|_| ApiError::UnauthorizedClient("Invalid Timestamp"))?;
    let partner = state
        .inner
        .directory
        .partner(&client_id)
        .await?
        .filter(|entry| entry.partner.enabled)
        .ok_or(UNKNOWN_CLIENT)?;
    verify_token_request(
        &partner.public_key,
        client_id.as_str(),
        timestamp.as_str(),
        signature.ok_or(UNKNOWN_CLIENT)?,
    )
    .map_err(|_| UNKNOWN_CLIENT)?;
    // CONTRACT §8: only a request that proved to be the partner's spends its quota.
    rate_limit::check(state, &client_id)?;

    let body = json_object(&request.body)?;
    // `grant_type` is what at least one SDK sends (SNAP-NOTES "Token request quirks").
    let grant_type = match optional_str(&body, "grantType", "grantType")? {
        Some(value) => Some(value),
        None => optional_str(&body, "grant_type", "grantType")?,
    };
    match grant_type {
        None | Some("") => return Err(ApiError::MissingField("grantType".into())),
        Some("client_credentials") => {}
        Some(_) => return Err(ApiError::InvalidField("grantType".into())),
    }

    let ttl = state.inner.config.token_ttl;
    let expires_at = request.received_at + ttl;
    let token = state.inner.tokens.issue(client_id.as_str(), expires_at);
    let mut fields = Map::new();
    fields.insert("accessToken".into(), Value::String(token));
    fields.insert("tokenType".into(), "Bearer".into());
    fields.insert("expiresIn".into(), ttl.as_secs().to_string().into());
    Ok(success(SERVICE, fields))
}
