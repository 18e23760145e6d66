//! Building SNAP JSON answers: the status every answer starts with, and the values several
//! answers share.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use snapqris_protocol::{Amount, ResponseCode, ServiceCode};
use snapqris_store::QrKind;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::wire::schema;

/// Marks a response with its `responseCode`, for the request log and metrics.
#[derive(Debug, Clone)]
pub(crate) struct ResponseCodeTag(pub(crate) String);

/// `responseCode` and `responseMessage`: the whole of an error answer, the head of every
/// other (CONTRACT §4).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SnapStatus<'a> {
    /// HTTP status, service code, case code.
    #[schema(schema_with = schema::response_code)]
    response_code: &'a str,
    /// The code's text, perhaps with detail after it.
    response_message: &'a str,
}

/// A success answer: the status, then the service's own fields in their order.
#[derive(Serialize)]
struct Success<'a, T> {
    #[serde(flatten)]
    status: SnapStatus<'a>,
    #[serde(flatten)]
    answer: T,
}

/// A `{"responseCode","responseMessage"}` answer with the status the code starts with.
pub(crate) fn snap_json(http_status: u16, response_code: &str, message: &str) -> Response {
    let status = SnapStatus {
        response_code,
        response_message: message,
    };
    // Two strings always serialise.
    let body = serde_json::to_string(&status).unwrap_or_default();
    json_response(http_status, response_code, body)
}

/// `200` with `responseCode` `200xx00`, `"Successful"`, then `answer`'s fields in their order.
pub(crate) fn success(service: ServiceCode, answer: impl Serialize) -> Response {
    let code = ResponseCode::new(200, service, 0).to_string();
    let success = Success {
        status: SnapStatus {
            response_code: &code,
            response_message: "Successful",
        },
        answer,
    };
    match serde_json::to_string(&success) {
        Ok(body) => json_response(200, &code, body),
        Err(e) => ApiError::internal("writing the answer", e).into_response_for(service),
    }
}

fn json_response(http_status: u16, response_code: &str, body: String) -> Response {
    let status = StatusCode::from_u16(http_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    response
        .extensions_mut()
        .insert(ResponseCodeTag(response_code.to_owned()));
    response
}

/// A QR's `type` in answers.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum QrType {
    /// Any amount, no expiry.
    Static,
    /// One amount, an expiry.
    Dynamic,
}

impl From<QrKind> for QrType {
    fn from(kind: QrKind) -> Self {
        match kind {
            QrKind::Static => QrType::Static,
            QrKind::Dynamic => QrType::Dynamic,
        }
    }
}

/// An amount in answers: `{"value":"9000.00","currency":"IDR"}`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[schema(as = Amount)]
pub(crate) struct AmountAnswer {
    /// Rupiah with exactly two decimals.
    #[schema(schema_with = schema::amount_value)]
    value: Amount,
    /// Always `IDR`.
    #[schema(schema_with = schema::currency)]
    currency: &'static str,
}

impl AmountAnswer {
    /// `sen` sen in rupiah.
    pub(crate) fn from_sen(sen: i64) -> Self {
        Self {
            value: Amount::from_sen(sen),
            currency: "IDR",
        }
    }
}
