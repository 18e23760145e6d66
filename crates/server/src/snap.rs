//! The SNAP request pipeline shared by the transaction services: body limit, headers, token,
//! timestamp, signature and the `X-EXTERNAL-ID` claim, in CONTRACT §4.2's order.

use crate::claim::ClaimTicket;
use crate::directory::PartnerEntry;
use crate::error::ApiError;
use crate::rate_limit;
use crate::state::AppState;
use axum::body::Body;
use axum::http::{HeaderMap, Request, request};
use axum::response::Response;
use bytes::Bytes;
use snapqris_protocol::{
    ChannelId, ClientId, ExternalId, JakartaDate, ServiceCode, TransactionVerifier, XTimestamp,
    verify_transaction,
};
use snapqris_store::{ExternalIdKey, SignatureMode};
use std::future::Future;
use std::sync::Arc;
use time::OffsetDateTime;

/// A request whose body has been read within the limit.
pub(crate) struct SnapRequest {
    pub(crate) parts: request::Parts,
    pub(crate) body: Bytes,
    /// Server time when the request arrived; every date of the request derives from it.
    pub(crate) received_at: OffsetDateTime,
}

/// A partner whose token and signature verified.
pub(crate) struct Caller {
    pub(crate) partner: Arc<PartnerEntry>,
    /// The partner's client id, as parsed from `X-PARTNER-ID`.
    pub(crate) client_id: ClientId,
    /// The request's `X-EXTERNAL-ID` claim: made already, or to be made by the handler.
    pub(crate) claim: ClaimTicket,
}

/// The value of a header that must appear at most once; `Err` when repeated or not text.
pub(crate) fn single_header<'a>(
    headers: &'a HeaderMap,
    name: &'static str,
    display: &'static str,
) -> Result<Option<&'a str>, ApiError> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ApiError::InvalidHeader(display));
    }
    first
        .to_str()
        .map(Some)
        .map_err(|_| ApiError::InvalidHeader(display))
}

/// Like [`single_header`], but absence is a [`ApiError::MissingHeader`].
pub(crate) fn required_header<'a>(
    headers: &'a HeaderMap,
    name: &'static str,
    display: &'static str,
) -> Result<&'a str, ApiError> {
    match single_header(headers, name, display)? {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(ApiError::MissingHeader(display)),
    }
}

/// Reads the body, refusing more than `body-limit` bytes with `400xx00`.
pub(crate) async fn read_request(
    state: &AppState,
    request: Request<Body>,
) -> Result<SnapRequest, ApiError> {
    let received_at = state.inner.clock.now();
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, state.inner.config.body_limit)
        .await
        .map_err(|_| ApiError::BadRequest("Request body too large or unreadable"))?;
    Ok(SnapRequest {
        parts,
        body,
        received_at,
    })
}

/// The token after `Bearer `, if the header has that form.
fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Validated transaction headers.
struct TransactionHeaders<'a> {
    timestamp: XTimestamp,
    partner_id: ClientId,
    external_id: ExternalId,
    authorization: Result<Option<&'a str>, ApiError>,
    signature: Option<&'a str>,
}

fn transaction_headers<'a>(
    state: &AppState,
    headers: &'a HeaderMap,
) -> Result<TransactionHeaders<'a>, ApiError> {
    let timestamp = XTimestamp::parse(required_header(headers, "x-timestamp", "X-TIMESTAMP")?)
        .map_err(|_| ApiError::InvalidHeader("X-TIMESTAMP"))?;
    let partner_id = ClientId::parse(required_header(headers, "x-partner-id", "X-PARTNER-ID")?)
        .map_err(|_| ApiError::InvalidHeader("X-PARTNER-ID"))?;
    let external_id =
        ExternalId::parse(required_header(headers, "x-external-id", "X-EXTERNAL-ID")?)
            .map_err(|_| ApiError::InvalidHeader("X-EXTERNAL-ID"))?;
    let mut channel_present = false;
    for name in ["x-channel-id", "channel-id"] {
        if let Some(channel) = single_header(headers, name, "X-CHANNEL-ID")? {
            ChannelId::parse(channel).map_err(|_| ApiError::InvalidHeader("X-CHANNEL-ID"))?;
            channel_present = true;
        }
    }
    if state.inner.config.require_channel_id && !channel_present {
        return Err(ApiError::MissingHeader("X-CHANNEL-ID"));
    }
    // Token and signature trouble are token and signature errors, never header errors.
    let authorization = single_header(headers, "authorization", "Authorization")
        .map_err(|_| ApiError::InvalidToken);
    let signature = single_header(headers, "x-signature", "X-SIGNATURE")
        .map_err(|_| ApiError::InvalidSignature)?;
    Ok(TransactionHeaders {
        timestamp,
        partner_id,
        external_id,
        authorization,
        signature,
    })
}

/// Checks everything up to the `X-EXTERNAL-ID` claim (CONTRACT §4.2).
async fn authenticate(state: &AppState, request: &SnapRequest) -> Result<Caller, ApiError> {
    let inner = &state.inner;
    // CONTRACT §4.2: the rate limit comes first, before anything can be claimed.
    let partner_header = request.parts.headers.get("x-partner-id");
    rate_limit::check(state, partner_header.and_then(|v| v.to_str().ok())).await?;
    let headers = transaction_headers(state, &request.parts.headers)?;

    let partner = inner
        .directory
        .partner(headers.partner_id.as_str())
        .await?
        .filter(|entry| entry.partner.enabled)
        .ok_or(ApiError::InvalidToken)?;
    let token = match headers.authorization? {
        Some(value) => Some(bearer_token(value).ok_or(ApiError::InvalidToken)?),
        // CONTRACT §4.2: an rsa-mode partner's signature already proves who it is.
        None if partner.partner.signature_mode == SignatureMode::Rsa => None,
        None => return Err(ApiError::InvalidToken),
    };
    if let Some(token) = token {
        let claims = inner
            .tokens
            .verify(token, request.received_at)
            .map_err(|_| ApiError::InvalidToken)?;
        if claims.client_id != headers.partner_id.as_str() {
            return Err(ApiError::InvalidToken);
        }
    }

    headers
        .timestamp
        .check_window(request.received_at, window(state))
        .map_err(|_| ApiError::StaleTimestamp)?;

    let signature = headers.signature.ok_or(ApiError::InvalidSignature)?;
    let verifier = match partner.partner.signature_mode {
        SignatureMode::Hmac => TransactionVerifier::Hmac {
            client_secret: partner.partner.client_secret.as_bytes(),
            access_token: token.ok_or(ApiError::InvalidToken)?,
        },
        SignatureMode::Rsa => TransactionVerifier::Rsa(&partner.public_key),
    };
    let variant = verify_transaction(
        &verifier,
        request.parts.method.as_str(),
        request.parts.uri.path(),
        &request.body,
        headers.timestamp.as_str(),
        signature,
        inner.config.signature_tolerance,
    )
    .map_err(|_| ApiError::InvalidSignature)?;
    tracing::debug!(body_variant = variant.as_str(), "signature verified");

    // CONTRACT §4.2: claimed once token and signature verify, whatever follows.
    let key = ExternalIdKey {
        client_id: headers.partner_id.clone(),
        day: JakartaDate::of_instant(request.received_at),
        external_id: headers.external_id,
    };
    Ok(Caller {
        partner,
        client_id: headers.partner_id,
        claim: ClaimTicket::new(key, request.received_at),
    })
}

/// The allowed `X-TIMESTAMP` distance as a `time::Duration`.
pub(crate) fn window(state: &AppState) -> time::Duration {
    time::Duration::try_from(state.inner.config.timestamp_window).unwrap_or(time::Duration::MAX)
}

/// Where a transaction service's `X-EXTERNAL-ID` is claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClaimBy {
    /// By the pipeline, right after the signature verifies.
    Pipeline,
    /// By the handler, together with its own store work ([`ClaimTicket`]).
    Handler,
}

/// Runs one transaction service: reads and authenticates the request, then `handler`, within
/// `request-timeout`; gives the `X-EXTERNAL-ID` back when the server fails (5xx).
pub(crate) async fn run_transaction<F, Fut>(
    state: AppState,
    service: ServiceCode,
    claim_by: ClaimBy,
    request: Request<Body>,
    handler: F,
) -> Response
where
    F: FnOnce(AppState, SnapRequest, Caller) -> Fut,
    Fut: Future<Output = Result<Response, ApiError>>,
{
    let mut ticket = None;
    let work = async {
        let request = read_request(&state, request).await?;
        let caller = authenticate(&state, &request).await?;
        ticket = Some(caller.claim.clone());
        if claim_by == ClaimBy::Pipeline {
            caller.claim.claim(&state).await?;
        }
        handler(state.clone(), request, caller).await
    };
    let outcome = tokio::time::timeout(state.inner.config.request_timeout, work)
        .await
        .unwrap_or(Err(ApiError::Timeout));
    match outcome {
        Ok(response) => response,
        Err(error) => {
            if error.is_server_error()
                && let Some(ticket) = ticket.filter(ClaimTicket::taken)
            {
                match state.inner.store.release_external_id(ticket.key()).await {
                    Ok(()) => crate::metrics::record_claim("released"),
                    Err(e) => tracing::error!(error = ?e, "could not release X-EXTERNAL-ID claim"),
                }
            }
            error.into_response_for(service)
        }
    }
}

/// Refuses a partner that was not granted `service`.
pub(crate) fn require_service(caller: &Caller, service: ServiceCode) -> Result<(), ApiError> {
    if caller.partner.partner.services.contains(&service) {
        Ok(())
    } else {
        Err(ApiError::ServiceNotGranted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_taken_case_insensitively() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearerabc"), None);
    }
}
