//! Service 90: Generate List, the seed (CONTRACT §4.3): every QR a merchant generated on a
//! Jakarta day, newest first, streamed.

use crate::error::ApiError;
use crate::reply::{QrType, ResponseCodeTag};
use crate::services::{MerchantInfoBody, additional_info_merchant_id, owned_merchant};
use crate::snap::{Caller, Service, SnapRequest, require_service, run_transaction};
use crate::state::AppState;
use crate::wire::{Field, from_body, schema};
use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use snapqris_protocol::{
    Amount, FieldError, JakartaDate, MerchantId, ServiceCode, push_jakarta_local,
};
use snapqris_store::{FirstListPage, ListPage, QrSummary, StoreError};
use std::fmt::Write;
use utoipa::ToSchema;

const SERVICE: ServiceCode = ServiceCode::GenerateList;
const SUCCESS_CODE: &str = "2009000";

/// Items per written chunk: fewer, larger writes than one per QR.
const ITEMS_PER_CHUNK: usize = 64;

/// Room for one item's JSON (a dynamic one is 128 bytes).
const ITEM_BYTES: usize = 136;

/// `POST /v1.0/qr/qr-generate-list`.
pub(crate) async fn generate_list(
    State(state): State<AppState>,
    request: Request<Body>,
) -> Response {
    run_transaction::<GenerateList>(state, request).await
}

/// The request body as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ListRequest)]
pub(crate) struct ListBody {
    /// An ISO-8601 date-time with offset, or `yyyy-MM-dd`; its date as written is the
    /// Asia/Jakarta day to list.
    #[schema(value_type = String, required = true)]
    #[serde(default)]
    date_generate: Field<String>,
    /// The merchant.
    #[schema(value_type = MerchantInfoBody, required = true)]
    #[serde(default)]
    additional_info: Field<MerchantInfoBody>,
}

/// The validated request body.
struct ListRequest {
    day: JakartaDate,
    merchant_id: MerchantId,
}

impl TryFrom<ListBody> for ListRequest {
    type Error = FieldError;

    fn try_from(body: ListBody) -> Result<Self, FieldError> {
        Ok(ListRequest {
            day: JakartaDate::parse(&body.date_generate.required("dateGenerate")?)?,
            merchant_id: additional_info_merchant_id(body.additional_info)?,
        })
    }
}

fn parse_body(body: &[u8]) -> Result<ListRequest, ApiError> {
    Ok(from_body::<ListBody>(body)?.try_into()?)
}

/// The `2009000` answer after its status (written by hand and streamed).
#[derive(ToSchema)]
#[schema(as = ListAnswer)]
#[expect(dead_code, reason = "the documented shape of what `list` streams")]
pub(crate) struct ListAnswer {
    /// Every QR the merchant generated that day, newest first (ties: higher `id_qr` first).
    #[schema(rename = "dataDetail")]
    data_detail: Vec<ListItem>,
}

/// One `dataDetail` item, in the seed example's field names and order (CONTRACT §5); a test
/// checks that `push_item_json` writes this shape.
#[derive(Serialize, ToSchema)]
pub(crate) struct ListItem {
    /// The QR id.
    #[schema(pattern = r"^[0-9]{1,20}$")]
    id_qr: String,
    /// `static` or `dynamic`.
    #[serde(rename = "type")]
    kind: QrType,
    /// Jakarta local time, `yyyy-MM-dd HH:mm:ss`.
    #[schema(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$")]
    generate_time: String,
    /// Jakarta local time; `null` for a static QR.
    #[schema(required = true)]
    expired_date: Option<String>,
    /// Two decimals; `null` for a static QR.
    #[schema(schema_with = schema::nullable_amount_value, required = true)]
    amount: Option<Amount>,
}

/// Checks the request: its body, the partner's grant, the merchant's owner.
async fn check(
    state: &AppState,
    request: &SnapRequest,
    caller: &Caller,
) -> Result<ListRequest, ApiError> {
    let body = parse_body(&request.body)?;
    require_service(caller, SERVICE)?;
    owned_merchant(state, caller, body.merchant_id.as_str()).await?;
    Ok(body)
}

/// Service 90 in the pipeline: checked before the claim, which then travels with the first
/// page (one unit of work); later pages are read as the answer streams.
struct GenerateList;

impl Service for GenerateList {
    const CODE: ServiceCode = SERVICE;
    type Job = FirstListPage;
    type Plan = ListRequest;

    async fn prepare(
        state: &AppState,
        request: &SnapRequest,
        caller: &Caller,
    ) -> Result<(FirstListPage, ListRequest), ApiError> {
        let body = check(state, request, caller).await?;
        let job = FirstListPage {
            merchant_id: body.merchant_id.clone(),
            day: body.day,
        };
        Ok((job, body))
    }

    async fn answer(
        state: &AppState,
        _: &SnapRequest,
        body: ListRequest,
        first: Result<ListPage, StoreError>,
    ) -> Result<Response, ApiError> {
        list(state, body, first?).await
    }
}

async fn list(state: &AppState, body: ListRequest, first: ListPage) -> Result<Response, ApiError> {
    let mut rows = state
        .inner
        .store
        .list_day_after(body.merchant_id.as_str(), body.day, first);
    // Read up to one chunk first: a typical day fits, and goes out as one write with a
    // Content-Length; only longer days are streamed (chunked), in bounded memory.
    let mut head = String::with_capacity(ITEMS_PER_CHUNK * ITEM_BYTES);
    head.push_str("{\"responseCode\":\"");
    head.push_str(SUCCESS_CODE);
    head.push_str("\",\"responseMessage\":\"Successful\",\"dataDetail\":[");
    let mut count = 0;
    let mut exhausted = false;
    while count < ITEMS_PER_CHUNK {
        match rows.next().await {
            Some(item) => {
                if count > 0 {
                    head.push(',');
                }
                push_item_json(&mut head, &item?);
                count += 1;
            }
            None => {
                exhausted = true;
                break;
            }
        }
    }
    if count == 0 {
        return Err(ApiError::TransactionNotFound);
    }
    let body = if exhausted {
        head.push_str("]}");
        Body::from(head)
    } else {
        let items = rows.ready_chunks(ITEMS_PER_CHUNK).map(|chunk| {
            let mut text = String::with_capacity(chunk.len() * ITEM_BYTES);
            for item in chunk {
                let item =
                    item.inspect_err(|e| tracing::error!(error = ?e, "list stream failed"))?;
                text.push(',');
                push_item_json(&mut text, &item);
            }
            Ok::<_, StoreError>(Bytes::from(text))
        });
        let stream = futures_util::stream::once(async move { Ok(Bytes::from(head)) })
            .chain(items)
            .chain(futures_util::stream::once(async {
                Ok(Bytes::from_static(b"]}"))
            }));
        Body::from_stream(stream)
    };
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response();
    response
        .extensions_mut()
        .insert(ResponseCodeTag(SUCCESS_CODE.to_owned()));
    Ok(response)
}

/// Appends one `dataDetail` item, in the seed example's field names and order (CONTRACT §5).
/// Written straight into `out` (`fmt::Write` on a `String` cannot fail): every value is digits, a
/// fixed word or a formatted time, so nothing needs escaping, and a list of thousands of items
/// builds no intermediate JSON values.
fn push_item_json(out: &mut String, item: &QrSummary) {
    out.push_str("{\"id_qr\":\"");
    let _ = write!(out, "{}", item.id_qr);
    out.push_str("\",\"type\":\"");
    out.push_str(item.kind.as_str());
    out.push_str("\",\"generate_time\":\"");
    push_jakarta_local(out, item.generated_at);
    out.push_str("\",\"expired_date\":");
    match item.expires_at {
        Some(expires_at) => {
            out.push('"');
            push_jakarta_local(out, expires_at);
            out.push('"');
        }
        None => out.push_str("null"),
    }
    out.push_str(",\"amount\":");
    match item.amount_sen {
        Some(sen) => {
            out.push('"');
            let _ = write!(out, "{}", Amount::from_sen(sen));
            out.push('"');
        }
        None => out.push_str("null"),
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use snapqris_store::QrKind;
    use time::macros::datetime;

    fn item_json(item: &QrSummary) -> String {
        let mut text = String::new();
        push_item_json(&mut text, item);
        // Whatever the writer produces must be valid JSON, of the documented shape.
        serde_json::from_str::<Value>(&text).expect("valid JSON");
        let documented = ListItem {
            id_qr: item.id_qr.to_string(),
            kind: item.kind.into(),
            generate_time: snapqris_protocol::format_jakarta_local(item.generated_at),
            expired_date: item.expires_at.map(snapqris_protocol::format_jakarta_local),
            amount: item.amount_sen.map(Amount::from_sen),
        };
        assert_eq!(text, serde_json::to_string(&documented).unwrap());
        text
    }

    /// A list item: dynamic with its expiry and amount, or static.
    fn summary(
        id_qr: i64,
        generated_at: time::OffsetDateTime,
        dynamic: Option<(time::OffsetDateTime, i64)>,
    ) -> QrSummary {
        QrSummary {
            id_qr,
            kind: if dynamic.is_some() {
                QrKind::Dynamic
            } else {
                QrKind::Static
            },
            generated_at,
            expires_at: dynamic.map(|(at, _)| at),
            amount_sen: dynamic.map(|(_, sen)| sen),
        }
    }

    #[test]
    fn a_dynamic_item_uses_jakarta_local_times_and_two_decimals() {
        let expires = datetime!(2024-05-15 08:20:49 UTC);
        let item = summary(
            10092081,
            datetime!(2024-05-15 07:20:49 UTC),
            Some((expires, 900_000)),
        );
        assert_eq!(
            item_json(&item),
            r#"{"id_qr":"10092081","type":"dynamic","generate_time":"2024-05-15 14:20:49","expired_date":"2024-05-15 15:20:49","amount":"9000.00"}"#
        );
    }

    #[test]
    fn a_static_item_has_null_expiry_and_amount() {
        let item = summary(10092070, datetime!(2024-05-15 02:14:20 UTC), None);
        assert_eq!(
            item_json(&item),
            r#"{"id_qr":"10092070","type":"static","generate_time":"2024-05-15 09:14:20","expired_date":null,"amount":null}"#
        );
    }

    #[test]
    fn body_errors_name_their_field() {
        let cases: [(&str, &str); 14] = [
            (
                r#"{"dateGenerate":null,"additionalInfo":{"merchantId":"M1"}}"#,
                "Invalid Mandatory Field dateGenerate",
            ),
            (
                r#"{"dateGenerate":20240315,"additionalInfo":{"merchantId":"M1"}}"#,
                "Invalid Field Format dateGenerate",
            ),
            (
                r#"{"dateGenerate":"2024-03-15","additionalInfo":null}"#,
                "Invalid Mandatory Field additionalInfo.merchantId",
            ),
            (
                r#"{"dateGenerate":"2024-03-15","additionalInfo":{"merchantId":""}}"#,
                "Invalid Mandatory Field additionalInfo.merchantId",
            ),
            (
                r#"{"dateGenerate":"2024-03-15","additionalInfo":{"merchantId":"M 1"}}"#,
                "Invalid Field Format additionalInfo.merchantId",
            ),
            (
                r#"{"additionalInfo":"M1"}"#,
                "Invalid Mandatory Field dateGenerate",
            ),
            ("[]", "Bad Request"),
            ("{", "Bad Request"),
            (
                r#"{"additionalInfo":{"merchantId":"M1"}}"#,
                "Invalid Mandatory Field dateGenerate",
            ),
            (
                r#"{"dateGenerate":"","additionalInfo":{"merchantId":"M1"}}"#,
                "Invalid Mandatory Field dateGenerate",
            ),
            (
                r#"{"dateGenerate":"2024-02-30","additionalInfo":{"merchantId":"M1"}}"#,
                "Invalid Field Format dateGenerate",
            ),
            (
                r#"{"dateGenerate":"2024-03-15"}"#,
                "Invalid Mandatory Field additionalInfo.merchantId",
            ),
            (
                r#"{"dateGenerate":"2024-03-15","additionalInfo":{"merchantId":7}}"#,
                "Invalid Field Format additionalInfo.merchantId",
            ),
            (
                r#"{"dateGenerate":"2024-03-15","additionalInfo":"M1"}"#,
                "Invalid Field Format additionalInfo",
            ),
        ];
        for (body, message) in cases {
            let error = parse_body(body.as_bytes()).err().expect(body);
            let (_, text) = error.response_code(SERVICE);
            assert!(text.starts_with(message), "{body}: {text}");
        }
    }
}
