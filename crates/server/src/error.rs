//! `ApiError`: every way a request can fail, and the one place that knows which
//! `responseCode` and message each failure gets on each service (CONTRACT §4.3, §4.4).

use axum::response::Response;
use snapqris_protocol::{FieldError, FieldErrorKind, ResponseCode, ServiceCode};
use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// A failed request, named for what happened.
#[derive(Debug)]
pub enum ApiError {
    /// The body is not a JSON object, is not UTF-8 JSON, or is over the limit (`400xx00`).
    BadRequest(&'static str),
    /// A body field has the wrong type or format (`400xx01`).
    InvalidField(String),
    /// A mandatory body field is missing or empty (`400xx02`).
    MissingField(String),
    /// A header is malformed or sent twice (`400xx01`; service 90: `4049001`).
    InvalidHeader(&'static str),
    /// A mandatory header is missing (`400xx02`; service 90: `4049001`).
    MissingHeader(&'static str),
    /// The signature is missing, not Base64, or does not verify (`401xx00`).
    InvalidSignature,
    /// `X-TIMESTAMP` lies outside the window (`401xx00`).
    StaleTimestamp,
    /// The partner may not call this service (`401xx00`; service 90: `4049000`).
    ServiceNotGranted,
    /// The token is missing, not Bearer, unknown, expired, another partner's, or its partner
    /// is disabled (`401xx01`).
    InvalidToken,
    /// Token request from an unknown, disabled or mis-signing client (`4017300`).
    UnauthorizedClient(&'static str),
    /// The merchant is blacklisted (`403xx19`).
    MerchantBlacklisted,
    /// The merchant is unknown or another partner's (`404xx08`; service 90: `4049000`).
    InvalidMerchant,
    /// Nothing matches the request (`404xx01`).
    TransactionNotFound,
    /// The amount is outside (0, max-amount] (`404xx13`).
    InvalidAmount,
    /// The QR cannot change to the requested status (`404xx00`).
    InvalidTransactionStatus,
    /// The payer's `partnerReferenceNo` made a payment of another payload or amount, or the
    /// partner's `partnerRefundNo` a refund of another QR, payment or amount (`404xx18`).
    InconsistentRequest,
    /// A refund would take a payment's refunds past its amount (`403xx02`).
    ExceedsAmountLimit,
    /// The transaction may no longer be done: a payment older than `refund-window` (`403xx15`).
    TransactionNotPermitted,
    /// The `X-EXTERNAL-ID` was used by this partner today already (`409xx00`).
    ExternalIdReused,
    /// The merchant already has a QR with this `partnerReferenceNo` (`409xx01`).
    DuplicatePartnerReference,
    /// The partner is over its rate limit (`429xx00`).
    TooManyRequests,
    /// The request took longer than `request-timeout` (`504xx00`).
    Timeout,
    /// The store has more work waiting than it takes (`503xx00`, CONTRACT §8); the
    /// `X-EXTERNAL-ID` is not used up.
    ServiceUnavailable,
    /// Anything unexpected (`500xx00`), with its cause: answered without detail, logged with
    /// the whole chain of causes by the request log.
    Internal(Box<dyn Error + Send + Sync>),
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        match error.kind() {
            FieldErrorKind::Missing => ApiError::MissingField(error.field().to_owned()),
            FieldErrorKind::InvalidFormat => ApiError::InvalidField(error.field().to_owned()),
        }
    }
}

impl From<snapqris_store::StoreError> for ApiError {
    fn from(error: snapqris_store::StoreError) -> Self {
        match error {
            snapqris_store::StoreError::Overloaded => ApiError::ServiceUnavailable,
            error => ApiError::internal("store", error),
        }
    }
}

impl ApiError {
    /// An unexpected failure while doing `context` (`"drawing the QR image"`), caused by
    /// `source`.
    pub fn internal(
        context: impl Into<String>,
        source: impl Error + Send + Sync + 'static,
    ) -> Self {
        ApiError::Internal(Box::new(Failed {
            context: context.into(),
            source: Box::new(source),
        }))
    }

    /// The code and message this error gets on `service`.
    pub fn response_code(&self, service: ServiceCode) -> (ResponseCode, String) {
        use ApiError::*;
        let list = service == ServiceCode::GenerateList;
        let code = |http, case| ResponseCode::new(http, service, case);
        match self {
            BadRequest(detail) => (code(400, 0), with_detail("Bad Request", detail)),
            InvalidField(field) => (code(400, 1), format!("Invalid Field Format {field}")),
            MissingField(field) => (code(400, 2), format!("Invalid Mandatory Field {field}")),
            // The seed's own code for header trouble on service 90.
            InvalidHeader(name) if list => {
                (code(404, 1), format!("Bad Request. Invalid header {name}"))
            }
            MissingHeader(name) if list => {
                (code(404, 1), format!("Bad Request. Missing header {name}"))
            }
            InvalidHeader(name) => (code(400, 1), format!("Invalid Field Format {name}")),
            MissingHeader(name) => (code(400, 2), format!("Invalid Mandatory Field {name}")),
            InvalidSignature => (code(401, 0), "Unauthorized. Invalid Signature".to_owned()),
            StaleTimestamp if list => (
                code(401, 0),
                "Unauthorized. Invalid Signature. X-TIMESTAMP outside the allowed window"
                    .to_owned(),
            ),
            StaleTimestamp => (code(401, 0), "Unauthorized. Invalid Timestamp".to_owned()),
            ServiceNotGranted if list => (
                code(404, 0),
                "Unauthorized. Client Forbidden Access API".to_owned(),
            ),
            ServiceNotGranted => (code(401, 0), "Unauthorized. Service Not Allowed".to_owned()),
            InvalidToken => (code(401, 1), "Invalid Token (B2B)".to_owned()),
            UnauthorizedClient(reason) => (code(401, 0), format!("Unauthorized. {reason}")),
            MerchantBlacklisted => (code(403, 19), "Merchant Blacklisted".to_owned()),
            InvalidMerchant if list => (
                code(404, 0),
                "Unauthorized. Client Forbidden Access API".to_owned(),
            ),
            InvalidMerchant => (code(404, 8), "Invalid Merchant".to_owned()),
            TransactionNotFound => (code(404, 1), "Transaction Not Found".to_owned()),
            InvalidAmount => (code(404, 13), "Invalid Amount".to_owned()),
            InvalidTransactionStatus => (code(404, 0), "Invalid Transaction Status".to_owned()),
            InconsistentRequest => (code(404, 18), "Inconsistent Request".to_owned()),
            ExceedsAmountLimit => (code(403, 2), "Exceeds Transaction Amount Limit".to_owned()),
            TransactionNotPermitted => (code(403, 15), "Transaction Not Permitted".to_owned()),
            ExternalIdReused if list => (
                code(409, 0),
                "Cannot use same X-EXTERNAL-ID in same day".to_owned(),
            ),
            ExternalIdReused => (code(409, 0), "Conflict".to_owned()),
            DuplicatePartnerReference => (code(409, 1), "Duplicate partnerReferenceNo".to_owned()),
            TooManyRequests => (code(429, 0), "Too Many Requests".to_owned()),
            Timeout => (code(504, 0), "Timeout".to_owned()),
            ServiceUnavailable => (code(503, 0), "Service Unavailable".to_owned()),
            Internal(_) => (code(500, 0), "General Error".to_owned()),
        }
    }

    /// Whether the failure was the server's (the `X-EXTERNAL-ID` claim is then given back).
    pub fn is_server_error(&self) -> bool {
        matches!(
            self,
            ApiError::Internal(_) | ApiError::Timeout | ApiError::ServiceUnavailable
        )
    }

    /// The JSON answer for `service`. An internal error's cause is never sent: it rides in the
    /// response's extensions to the request log (`telemetry.rs`), which logs it once.
    pub fn into_response_for(self, service: ServiceCode) -> Response {
        let (code, message) = self.response_code(service);
        let mut response = crate::reply::snap_json(code.http_status(), &code.to_string(), &message);
        if let ApiError::Internal(cause) = self {
            response
                .extensions_mut()
                .insert(InternalCause(Arc::from(cause)));
        }
        response
    }
}

/// The cause of a `500xx00` answer, for the request log.
#[derive(Debug, Clone)]
pub(crate) struct InternalCause(pub(crate) Arc<dyn Error + Send + Sync>);

/// What was being done when something unexpected failed; the failure is its source.
#[derive(Debug, thiserror::Error)]
#[error("{context}")]
struct Failed {
    context: String,
    #[source]
    source: Box<dyn Error + Send + Sync>,
}

/// An error and its sources on one line, `outer: inner: innermost` (anyhow's `{:#}`), for
/// logs: a driver's error is often only in a source.
pub(crate) struct Chain<'a>(pub(crate) &'a (dyn Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}

fn with_detail(text: &str, detail: &str) -> String {
    if detail.is_empty() {
        text.to_owned()
    } else {
        format!("{text}. {detail}")
    }
}
