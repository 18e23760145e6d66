//! Service 73: B2B access token (CONTRACT §4.1).

use crate::error::ApiError;
use crate::rate_limit;
use crate::reply::success;
use crate::snap::{read_request, required_header, single_header, window};
use crate::state::AppState;
use crate::wire::{Field, from_body};
use axum::body::Body;
use axum::extract::State;
use axum::http::Request;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use snapqris_protocol::{ClientId, FieldError, ServiceCode, XTimestamp, verify_token_request};
use utoipa::ToSchema;

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

    from_body::<TokenBody>(&request.body)?.validate()?;

    let ttl = state.inner.config.token_ttl;
    let expires_at = request.received_at + ttl;
    let token = state.inner.tokens.issue(client_id.as_str(), expires_at);
    let answer = TokenAnswer {
        access_token: token,
        token_type: "Bearer",
        expires_in: ttl.as_secs().to_string(),
    };
    Ok(success(SERVICE, answer))
}

/// The request body as sent; `additionalInfo`, of any type, is ignored (CONTRACT §4.1).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = TokenRequest)]
pub(crate) struct TokenBody {
    /// `client_credentials`.
    #[schema(schema_with = crate::wire::schema::grant_type)]
    #[serde(default, rename = "grantType")]
    grant_type: Field<String>,
    /// `grantType` as at least one SDK spells it (SNAP-NOTES "Token request quirks"); read
    /// when `grantType` is absent or `null`.
    #[schema(schema_with = crate::wire::schema::grant_type)]
    #[serde(default, rename = "grant_type")]
    grant_type_snake: Field<String>,
}

impl TokenBody {
    /// `Ok` for the one grant SNAP knows.
    fn validate(self) -> Result<(), FieldError> {
        const FIELD: &str = "grantType";
        let grant_type = match self.grant_type.optional(FIELD)? {
            Some(value) => value,
            None => self.grant_type_snake.required(FIELD)?,
        };
        match grant_type.as_str() {
            "" => Err(FieldError::missing(FIELD)),
            "client_credentials" => Ok(()),
            _ => Err(FieldError::invalid(FIELD)),
        }
    }
}

/// The `2007300` answer after its status.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenAnswer {
    /// The opaque token for `Authorization: Bearer`.
    access_token: String,
    /// `Bearer`.
    #[schema(schema_with = crate::wire::schema::bearer)]
    token_type: &'static str,
    /// Its lifetime in seconds, as a decimal string.
    #[schema(pattern = "^[0-9]+$")]
    expires_in: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use snapqris_protocol::FieldErrorKind;

    fn grant(body: &str) -> Result<(), FieldErrorKind> {
        let body: TokenBody = from_body(body.as_bytes()).unwrap();
        body.validate().map_err(|e| {
            assert_eq!(e.field(), "grantType");
            e.kind()
        })
    }

    #[test]
    fn either_spelling_of_the_grant_type_is_taken() {
        assert_eq!(grant(r#"{"grantType":"client_credentials"}"#), Ok(()));
        assert_eq!(grant(r#"{"grant_type":"client_credentials"}"#), Ok(()));
        assert_eq!(
            grant(r#"{"grantType":null,"grant_type":"client_credentials","additionalInfo":7}"#),
            Ok(())
        );
    }

    #[test]
    fn a_missing_null_or_empty_grant_type_is_missing() {
        for body in [
            "{}",
            r#"{"grantType":null}"#,
            r#"{"grantType":""}"#,
            r#"{"grant_type":""}"#,
            r#"{"grantType":"","grant_type":"client_credentials"}"#,
        ] {
            assert_eq!(grant(body), Err(FieldErrorKind::Missing), "{body}");
        }
    }

    #[test]
    fn another_grant_type_or_json_type_is_invalid() {
        for body in [
            r#"{"grantType":"password"}"#,
            r#"{"grantType":1}"#,
            r#"{"grantType":1,"grant_type":"client_credentials"}"#,
            r#"{"grant_type":true}"#,
        ] {
            assert_eq!(grant(body), Err(FieldErrorKind::InvalidFormat), "{body}");
        }
    }

    #[test]
    fn the_answer_keeps_the_standard_order() {
        let answer = TokenAnswer {
            access_token: "t".into(),
            token_type: "Bearer",
            expires_in: "900".into(),
        };
        assert_eq!(
            serde_json::to_string(&answer).unwrap(),
            r#"{"accessToken":"t","tokenType":"Bearer","expiresIn":"900"}"#
        );
    }
}
