//! Service 93: Expire a dynamic QR by its bill number (CONTRACT §4.4).

use crate::error::ApiError;
use crate::reply::success;
use crate::services::{MerchantInfoBody, additional_info_merchant_id, owned_merchant, parse_id_qr};
use crate::snap::{Caller, Service, SnapRequest, require_service, run_transaction};
use crate::state::AppState;
use crate::wire::{Field, from_body, schema};
use axum::body::Body;
use axum::extract::State;
use axum::http::Request;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use snapqris_protocol::{FieldError, MerchantId, ServiceCode, format_rfc3339_jakarta};
use snapqris_store::{ExpireOutcome, ExpireQr, StoreError};
use utoipa::ToSchema;

const SERVICE: ServiceCode = ServiceCode::ExpireBillNumber;

/// `POST /v1.0/qr/qr-mpm-expire-billnumber`.
pub(crate) async fn expire_bill(State(state): State<AppState>, request: Request<Body>) -> Response {
    run_transaction::<ExpireBill>(state, request).await
}

/// The request body as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ExpireRequest)]
pub(crate) struct ExpireBody {
    /// The `id_qr` of the dynamic QR to expire.
    #[schema(schema_with = schema::id_qr, required = true)]
    #[serde(default, rename = "billnumber")]
    bill_number: Field<String>,
    /// The QR's merchant.
    #[schema(value_type = MerchantInfoBody, required = true)]
    #[serde(default)]
    additional_info: Field<MerchantInfoBody>,
}

impl ExpireBody {
    /// The `id_qr` and the merchant.
    fn validate(self) -> Result<(i64, MerchantId), FieldError> {
        let id_qr = parse_id_qr(&self.bill_number.required("billnumber")?, "billnumber")?;
        Ok((id_qr, additional_info_merchant_id(self.additional_info)?))
    }
}

fn parse_body(body: &[u8]) -> Result<(i64, MerchantId), ApiError> {
    Ok(from_body::<ExpireBody>(body)?.validate()?)
}

/// The `2009300` answer after its status.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExpireAnswer {
    /// The expired QR's `id_qr`.
    #[serde(rename = "billnumber")]
    bill_number: String,
    /// When it expired: now, RFC 3339 in +07:00.
    expired_time: String,
    /// The merchant, as sent.
    additional_info: ExpireAnswerInfo,
}

/// `additionalInfo` of an expire answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExpireAnswerInfo {
    /// The QR's merchant.
    merchant_id: String,
}

/// Service 93 in the pipeline: the expiry is a conditional update in the claim's unit of work.
struct ExpireBill;

impl Service for ExpireBill {
    const CODE: ServiceCode = SERVICE;
    type Job = ExpireQr;
    /// The bill number and merchant, for the answer.
    type Plan = (i64, MerchantId);

    async fn prepare(
        state: &AppState,
        request: &SnapRequest,
        caller: &Caller,
    ) -> Result<(ExpireQr, Self::Plan), ApiError> {
        let (id_qr, merchant_id) = parse_body(&request.body)?;
        require_service(caller, SERVICE)?;
        owned_merchant(state, caller, merchant_id.as_str()).await?;
        let job = ExpireQr {
            merchant_id: merchant_id.clone(),
            id_qr,
            at: request.received_at,
        };
        Ok((job, (id_qr, merchant_id)))
    }

    async fn answer(
        _: &AppState,
        request: &SnapRequest,
        (id_qr, merchant_id): Self::Plan,
        done: Result<ExpireOutcome, StoreError>,
    ) -> Result<Response, ApiError> {
        match done? {
            ExpireOutcome::Expired => {}
            ExpireOutcome::NotFound => return Err(ApiError::TransactionNotFound),
            ExpireOutcome::InvalidStatus => return Err(ApiError::InvalidTransactionStatus),
        }
        let now = request.received_at;
        let answer = ExpireAnswer {
            bill_number: id_qr.to_string(),
            expired_time: format_rfc3339_jakarta(now),
            additional_info: ExpireAnswerInfo {
                merchant_id: merchant_id.into_string(),
            },
        };
        Ok(success(SERVICE, answer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> String {
        let error = parse_body(body.as_bytes()).expect_err(body);
        error.response_code(SERVICE).1
    }

    #[test]
    fn a_bill_number_is_mandatory_and_digits() {
        let info = r#""additionalInfo":{"merchantId":"M1"}"#;
        for bill in ["", r#","billnumber":null"#, r#","billnumber":"""#] {
            assert_eq!(
                message(&format!("{{{info}{bill}}}")),
                "Invalid Mandatory Field billnumber"
            );
        }
        for bill in ["7", "\"12a\"", "[]"] {
            assert_eq!(
                message(&format!(r#"{{{info},"billnumber":{bill}}}"#)),
                "Invalid Field Format billnumber"
            );
        }
    }

    #[test]
    fn the_bill_number_is_checked_before_the_merchant() {
        assert_eq!(message("{}"), "Invalid Mandatory Field billnumber");
        assert_eq!(
            message(r#"{"billnumber":"7"}"#),
            "Invalid Mandatory Field additionalInfo.merchantId"
        );
        let (id_qr, merchant) =
            parse_body(br#"{"billnumber":"7","additionalInfo":{"merchantId":"M1"},"x":1}"#)
                .unwrap();
        assert_eq!((id_qr, merchant.as_str()), (7, "M1"));
    }

    #[test]
    fn the_answer_keeps_the_order_of_its_fields() {
        let answer = ExpireAnswer {
            bill_number: "7".into(),
            expired_time: "2026-11-25T15:00:00+07:00".into(),
            additional_info: ExpireAnswerInfo {
                merchant_id: "M1".into(),
            },
        };
        assert_eq!(
            serde_json::to_string(&answer).unwrap(),
            r#"{"billnumber":"7","expiredTime":"2026-11-25T15:00:00+07:00","additionalInfo":{"merchantId":"M1"}}"#
        );
    }
}
