//! The SNAP request pipeline shared by the transaction services: body limit, headers, token,
//! timestamp, signature and the `X-EXTERNAL-ID` claim, in CONTRACT §4.2's order.
//!
//! The claim is the pipeline's alone ([`run_transaction`]): a service describes its work as a
//! store [`Job`] and answers from its outcome; the pipeline claims the id and runs the job in
//! one unit of work, and gives the id back when the server fails (5xx).

use crate::directory::PartnerEntry;
use crate::error::{ApiError, Chain};
use crate::rate_limit;
use crate::state::AppState;
use axum::body::Body;
use axum::http::{HeaderMap, Request, request};
use axum::response::Response;
use bytes::Bytes;
use futures_util::FutureExt;
use snapqris_protocol::{
    ChannelId, ClientId, ExternalId, JakartaDate, ServiceCode, TransactionVerifier, XTimestamp,
    verify_transaction,
};
use snapqris_store::{ClaimedWork, ExternalIdKey, Job, NoWork, SignatureMode, StoreError};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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

/// Checks everything up to the `X-EXTERNAL-ID` claim (CONTRACT §4.2); answers the caller and
/// the claim to make.
async fn authenticate(
    state: &AppState,
    request: &SnapRequest,
) -> Result<(Caller, ExternalIdKey), ApiError> {
    let inner = &state.inner;
    let headers = transaction_headers(state, &request.parts.headers)?;

    let partner = inner
        .directory
        .partner(&headers.partner_id)
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

    // Without a token, the signature is what proves who is calling: until it verifies the
    // request is answered like an unknown client's (401xx01), so answers tell no one which ids
    // exist or how they sign, and its timestamp (which it covers) is judged after it.
    let unproven = || match token {
        Some(_) => ApiError::InvalidSignature,
        None => ApiError::InvalidToken,
    };
    let check_timestamp = || {
        headers
            .timestamp
            .check_window(request.received_at, window(state))
            .map_err(|_| ApiError::StaleTimestamp)
    };
    if token.is_some() {
        check_timestamp()?;
    }

    let signature = headers.signature.ok_or_else(unproven)?;
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
    .map_err(|_| unproven())?;
    if token.is_none() {
        check_timestamp()?;
    }
    tracing::debug!(body_variant = variant.as_str(), "signature verified");
    // CONTRACT §4.2, §8: charged only to requests proved to be the partner's, before the claim.
    rate_limit::check(state, &headers.partner_id)?;

    let key = ExternalIdKey {
        client_id: headers.partner_id.clone(),
        day: JakartaDate::of_instant(request.received_at),
        external_id: headers.external_id,
    };
    let caller = Caller {
        partner,
        client_id: headers.partner_id,
    };
    Ok((caller, key))
}

/// The allowed `X-TIMESTAMP` distance as a `time::Duration`.
pub(crate) fn window(state: &AppState) -> time::Duration {
    time::Duration::try_from(state.inner.config.timestamp_window).unwrap_or(time::Duration::MAX)
}

/// A transaction service: what it checks and does, and how it answers. It never sees the
/// `X-EXTERNAL-ID` claim ([`run_transaction`] makes it).
pub(crate) trait Service: Send + Sync + 'static {
    /// The service's code (its answers' middle digits).
    const CODE: ServiceCode;
    /// The store work that commits with the claim.
    type Job: Job;
    /// What the answer needs besides the job's output.
    type Plan: Send;

    /// Parses and checks the request and describes its work. Runs before the claim; a
    /// refusal still uses up the id (it is claimed, then the refusal answered — or `409xx00`
    /// if the id was used already).
    fn prepare(
        state: &AppState,
        request: &SnapRequest,
        caller: &Caller,
    ) -> impl Future<Output = Result<(Self::Job, Self::Plan), ApiError>> + Send;

    /// Answers once the job committed with the claim (`done` is its outcome; a failed job's
    /// writes were undone, the claim stands).
    fn answer(
        state: &AppState,
        request: &SnapRequest,
        plan: Self::Plan,
        done: Result<<Self::Job as Job>::Output, StoreError>,
    ) -> impl Future<Output = Result<Response, ApiError>> + Send;
}

/// Runs one transaction service: reads and authenticates the request, prepares its work, claims
/// the `X-EXTERNAL-ID` and runs the work in one unit of work, then answers, all within
/// `request-timeout`; gives the id back when the server fails (5xx).
pub(crate) async fn run_transaction<S: Service>(
    state: AppState,
    request: Request<Body>,
) -> Response {
    // Set once this request is known to hold its claim. A request that times out while its
    // claim is on the way to the store does not know, and gives nothing back: releasing could
    // delete another request's claim of the same id, and the claim (with its work) may still
    // commit, which a resend then meets as `409xx00`.
    let taken = AtomicBool::new(false);
    let mut claimed_key = None;
    let work = async {
        let request = read_request(&state, request).await?;
        let (caller, key) = authenticate(&state, &request).await?;
        let key = claimed_key.insert(key);
        let at = request.received_at;
        let (job, plan) = match S::prepare(&state, &request, &caller).await {
            Ok(prepared) => prepared,
            // A server failure claims nothing: the claim would be given back at once.
            Err(failure) if failure.is_server_error() => return Err(failure),
            Err(refusal) => {
                // CONTRACT §4.2: claimed once token and signature verify, whatever follows.
                claim_outcome(claim(&state, key, at, NoWork).await?, &taken)??;
                return Err(refusal);
            }
        };
        let done = claim_outcome(claim(&state, key, at, job).await?, &taken)?;
        S::answer(&state, &request, plan, done).await
    };
    // A panic is a server failure like any other: caught here (not only by the outer panic
    // guard) so that the claim is given back.
    let work = AssertUnwindSafe(work).catch_unwind().map(|caught| {
        caught.unwrap_or_else(|_| Err(ApiError::Internal("the request's work panicked".into())))
    });
    let outcome = tokio::time::timeout(state.inner.config.request_timeout, work)
        .await
        .unwrap_or(Err(ApiError::Timeout));
    match outcome {
        Ok(response) => response,
        Err(error) => {
            if error.is_server_error()
                && taken.load(Ordering::Acquire)
                && let Some(key) = &claimed_key
            {
                match state.inner.store.release_external_id(key).await {
                    Ok(()) => crate::metrics::record_claim("released"),
                    Err(e) => {
                        tracing::error!(error = %Chain(&e), "could not release X-EXTERNAL-ID claim")
                    }
                }
            }
            error.into_response_for(S::CODE)
        }
    }
}

/// Claims `key` and runs `job` with it, within the partner's `daily-claim-limit` when one is
/// set (CONTRACT §6.5: over it `429xx00`, nothing claimed).
async fn claim<J: Job>(
    state: &AppState,
    key: &ExternalIdKey,
    at: OffsetDateTime,
    job: J,
) -> Result<ClaimedWork<J::Output>, ApiError> {
    let store = &state.inner.store;
    let limit = state.inner.config.daily_claim_limit;
    if limit > 0 && !store.count_claim(&key.client_id, key.day, limit).await? {
        return Err(ApiError::TooManyRequests);
    }
    Ok(store.claim_then(key, at, job).await?)
}

/// Notes a claim's outcome (counted; remembered in `taken`) and answers the work's outcome, or
/// `409xx00` when the id was used.
fn claim_outcome<T>(
    done: ClaimedWork<T>,
    taken: &AtomicBool,
) -> Result<Result<T, StoreError>, ApiError> {
    match done {
        ClaimedWork::Claimed(outcome) => {
            crate::metrics::record_claim("claimed");
            taken.store(true, Ordering::Release);
            Ok(outcome)
        }
        ClaimedWork::AlreadyUsed => {
            crate::metrics::record_claim("reused");
            Err(ApiError::ExternalIdReused)
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
