//! Service 77: cancel an unpaid dynamic QR (CONTRACT §6.4).

use crate::error::ApiError;
use crate::reply::success;
use crate::services::refund::MAX_REASON;
use crate::services::{limited_text, original_qr, partner_merchant};
use crate::snap::{Caller, Service, SnapRequest, require_service, run_transaction};
use crate::state::AppState;
use crate::wire::{Field, from_body, schema};
use axum::body::Body;
use axum::extract::State;
use axum::http::Request;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use snapqris_protocol::{FieldError, MerchantId, ServiceCode, format_rfc3339_jakarta};
use snapqris_store::{CancelOutcome, CancelQr, QrReference, StoreError};
use utoipa::ToSchema;

const SERVICE: ServiceCode = ServiceCode::Cancel;

/// `POST /v1.0/qr/qr-mpm-cancel`.
pub(crate) async fn cancel_qr(State(state): State<AppState>, request: Request<Body>) -> Response {
    run_transaction::<Cancel>(state, request).await
}

/// The request body as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CancelRequest)]
pub(crate) struct CancelBody {
    /// The QR's merchant.
    #[schema(schema_with = schema::merchant_id, required = true)]
    #[serde(default)]
    merchant_id: Field<String>,
    /// The QR's `id_qr` (or send `originalPartnerReferenceNo`).
    #[schema(schema_with = schema::id_qr)]
    #[serde(default)]
    original_reference_no: Field<String>,
    /// The QR's generate `partnerReferenceNo` (or send `originalReferenceNo`).
    #[schema(schema_with = schema::partner_reference_no)]
    #[serde(default)]
    original_partner_reference_no: Field<String>,
    /// Why, at most 256 characters.
    #[schema(value_type = String, min_length = 1, max_length = 256, required = true)]
    #[serde(default)]
    reason: Field<String>,
}

/// The validated request body.
#[derive(Debug)]
struct CancelRequest {
    merchant_id: MerchantId,
    qr: QrReference,
    reason: String,
}

impl CancelBody {
    fn validate(self) -> Result<CancelRequest, FieldError> {
        let merchant_id = MerchantId::parse(&self.merchant_id.required("merchantId")?)?;
        let qr = original_qr(
            self.original_reference_no,
            self.original_partner_reference_no,
        )?;
        let reason = limited_text(self.reason, "reason", MAX_REASON)?
            .ok_or_else(|| FieldError::missing("reason"))?;
        Ok(CancelRequest {
            merchant_id,
            qr,
            reason,
        })
    }
}

fn parse_body(body: &[u8]) -> Result<CancelRequest, ApiError> {
    Ok(from_body::<CancelBody>(body)?.validate()?)
}

/// The `2007700` answer after its status.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CancelAnswer {
    /// The QR's `id_qr`.
    original_reference_no: String,
    /// The QR's generate `partnerReferenceNo`.
    original_partner_reference_no: String,
    /// When it was cancelled: now, RFC 3339 in +07:00.
    cancel_time: String,
}

/// Service 77 in the pipeline: the cancel is a conditional update in the claim's unit of work.
struct Cancel;

impl Service for Cancel {
    const CODE: ServiceCode = SERVICE;
    type Job = CancelQr;
    type Plan = ();

    async fn prepare(
        state: &AppState,
        request: &SnapRequest,
        caller: &Caller,
    ) -> Result<(CancelQr, ()), ApiError> {
        let body = parse_body(&request.body)?;
        require_service(caller, SERVICE)?;
        partner_merchant(state, caller, body.merchant_id.as_str()).await?;
        let job = CancelQr {
            merchant_id: body.merchant_id,
            qr: body.qr,
            reason: body.reason,
            at: request.received_at,
        };
        Ok((job, ()))
    }

    async fn answer(
        _: &AppState,
        request: &SnapRequest,
        (): (),
        done: Result<CancelOutcome, StoreError>,
    ) -> Result<Response, ApiError> {
        let qr = match done? {
            CancelOutcome::Cancelled(qr) => qr,
            CancelOutcome::NotFound => return Err(ApiError::TransactionNotFound),
            CancelOutcome::InvalidStatus => return Err(ApiError::InvalidTransactionStatus),
        };
        let answer = CancelAnswer {
            original_reference_no: qr.id_qr.to_string(),
            original_partner_reference_no: qr.partner_reference_no,
            cancel_time: format_rfc3339_jakarta(request.received_at),
        };
        Ok(success(SERVICE, answer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> String {
        let error = parse_body(body.as_bytes()).expect_err(body);
        let (code, message) = error.response_code(SERVICE);
        format!("{code} {message}")
    }

    #[test]
    fn the_reason_is_mandatory_and_at_most_256_characters() {
        let head = r#"{"merchantId":"M1","originalPartnerReferenceNo":"INV-1""#;
        for tail in ["}", r#","reason":null}"#, r#","reason":""}"#] {
            assert_eq!(
                message(&format!("{head}{tail}")),
                "4007702 Invalid Mandatory Field reason"
            );
        }
        let long = format!(r#"{head},"reason":"{}"}}"#, "r".repeat(257));
        assert_eq!(message(&long), "4007701 Invalid Field Format reason");
        let request = parse_body(format!(r#"{head},"reason":"typo"}}"#).as_bytes()).unwrap();
        assert_eq!(
            request.qr,
            QrReference::PartnerReference("INV-1".to_owned())
        );
        assert_eq!(request.reason, "typo");
    }

    #[test]
    fn the_qr_and_merchant_are_mandatory() {
        assert_eq!(
            message(r#"{"originalReferenceNo":"7","reason":"x"}"#),
            "4007702 Invalid Mandatory Field merchantId"
        );
        assert_eq!(
            message(r#"{"merchantId":"M1","reason":"x"}"#),
            "4007702 Invalid Mandatory Field originalReferenceNo"
        );
        assert_eq!(
            message(r#"{"merchantId":"M1","originalReferenceNo":7,"reason":"x"}"#),
            "4007701 Invalid Field Format originalReferenceNo"
        );
    }
}
