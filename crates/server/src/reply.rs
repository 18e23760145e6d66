//! Building SNAP JSON answers.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use snapqris_protocol::{ResponseCode, ServiceCode};

/// Marks a response with its `responseCode`, for the request log and metrics.
#[derive(Debug, Clone)]
pub(crate) struct ResponseCodeTag(pub(crate) String);

/// A `{"responseCode","responseMessage"}` answer with the status the code starts with.
pub(crate) fn snap_json(http_status: u16, response_code: &str, message: &str) -> Response {
    let mut object = Map::new();
    object.insert("responseCode".into(), response_code.into());
    object.insert("responseMessage".into(), message.into());
    json_response(http_status, response_code, &Value::Object(object))
}

/// `200` with `responseCode` `200xx00`, `"Successful"`, then `fields` in their order.
pub(crate) fn success(service: ServiceCode, fields: Map<String, Value>) -> Response {
    let code = ResponseCode::new(200, service, 0).to_string();
    let mut object = Map::with_capacity(fields.len() + 2);
    object.insert("responseCode".into(), code.clone().into());
    object.insert("responseMessage".into(), "Successful".into());
    object.extend(fields);
    json_response(200, &code, &Value::Object(object))
}

fn json_response(http_status: u16, response_code: &str, body: &Value) -> Response {
    let status = StatusCode::from_u16(http_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    response
        .extensions_mut()
        .insert(ResponseCodeTag(response_code.to_owned()));
    response
}
