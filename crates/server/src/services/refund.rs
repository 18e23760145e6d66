//! Service 78: refund (part of) a payment of a QR (CONTRACT §6.3).

use crate::error::ApiError;
use crate::reply::{AmountAnswer, success};
use crate::services::generate::AmountBody;
use crate::services::{limited_text, original_qr, parse_id_qr, partner_merchant};
use crate::snap::{Caller, Service, SnapRequest, require_service, run_transaction};
use crate::state::AppState;
use crate::wire::{Field, FromJson, from_body, nested, schema};
use axum::body::Body;
use axum::extract::State;
use axum::http::Request;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use snapqris_protocol::{
    Amount, FieldError, MerchantId, PartnerReferenceNo, ServiceCode, format_rfc3339_jakarta,
};
use snapqris_store::{
    QrReference, Refund, RefundOutcome, RefundPayment, RefundRefusal, StoreError,
};
use utoipa::ToSchema;

const SERVICE: ServiceCode = ServiceCode::Refund;

/// The longest `reason` (CONTRACT §6.3).
pub(crate) const MAX_REASON: usize = 256;

/// `POST /v1.0/qr/qr-mpm-refund`.
pub(crate) async fn refund_qr(State(state): State<AppState>, request: Request<Body>) -> Response {
    run_transaction::<RefundService>(state, request).await
}

/// The request body as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = RefundRequest)]
pub(crate) struct RefundBody {
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
    /// The partner's refund reference, unique per partner: a retry under it answers the
    /// first refund again.
    #[schema(schema_with = schema::partner_reference_no, required = true)]
    #[serde(default)]
    partner_refund_no: Field<String>,
    /// How much to give back: more than 0, in all at most what was paid.
    #[schema(value_type = AmountBody, required = true)]
    #[serde(default)]
    refund_amount: Field<AmountBody>,
    /// Why, at most 256 characters.
    #[schema(value_type = String, max_length = 256)]
    #[serde(default)]
    reason: Field<String>,
    /// Which payment of a static QR paid more than once.
    #[schema(value_type = RefundInfoBody)]
    #[serde(default)]
    additional_info: Field<RefundInfoBody>,
}

/// `additionalInfo` of a refund request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = RefundInfo)]
pub(crate) struct RefundInfoBody {
    /// The `paymentId` to refund; mandatory when the QR has several payments.
    #[schema(schema_with = schema::id_qr)]
    #[serde(default)]
    payment_id: Field<String>,
}

impl FromJson for RefundInfoBody {
    fn from_json(value: serde_json::Value) -> Option<Self> {
        nested(value)
    }
}

/// The validated request body.
#[derive(Debug)]
struct RefundRequest {
    merchant_id: MerchantId,
    qr: QrReference,
    partner_refund_no: PartnerReferenceNo,
    amount: Amount,
    reason: Option<String>,
    payment_id: Option<i64>,
}

impl RefundBody {
    fn validate(self) -> Result<RefundRequest, FieldError> {
        const PARTNER_REFUND_NO: &str = "partnerRefundNo";
        const PAYMENT_ID: &str = "additionalInfo.paymentId";
        let merchant_id = MerchantId::parse(&self.merchant_id.required("merchantId")?)?;
        let qr = original_qr(
            self.original_reference_no,
            self.original_partner_reference_no,
        )?;
        let partner_refund_no =
            PartnerReferenceNo::parse(&self.partner_refund_no.required(PARTNER_REFUND_NO)?)
                .map_err(|e| e.with_field(PARTNER_REFUND_NO))?;
        let amount = self
            .refund_amount
            .optional("refundAmount")?
            .ok_or_else(|| FieldError::missing("refundAmount"))?
            .validate_as("refundAmount")?;
        let reason = limited_text(self.reason, "reason", MAX_REASON)?;
        let payment_id = match self.additional_info.optional("additionalInfo")? {
            None => None,
            Some(info) => info
                .payment_id
                .optional_text(PAYMENT_ID)?
                .map(|text| parse_id_qr(&text, PAYMENT_ID))
                .transpose()?,
        };
        Ok(RefundRequest {
            merchant_id,
            qr,
            partner_refund_no,
            amount,
            reason,
            payment_id,
        })
    }
}

fn parse_body(body: &[u8]) -> Result<RefundRequest, ApiError> {
    Ok(from_body::<RefundBody>(body)?.validate()?)
}

/// The `2007800` answer after its status.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefundAnswer {
    /// The QR's `id_qr`.
    original_reference_no: String,
    /// The QR's generate `partnerReferenceNo`.
    original_partner_reference_no: String,
    /// The refund's id.
    refund_no: String,
    /// The partner's refund reference, as sent.
    partner_refund_no: String,
    /// The amount refunded.
    refund_amount: AmountAnswer,
    /// When it was refunded, RFC 3339 in +07:00.
    refund_time: String,
    /// The payment refunded.
    additional_info: RefundAnswerInfo,
}

/// `additionalInfo` of a refund answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefundAnswerInfo {
    /// The `paymentId` refunded.
    payment_id: String,
}

impl RefundAnswer {
    fn of(refund: Refund) -> Self {
        RefundAnswer {
            original_reference_no: refund.id_qr.to_string(),
            original_partner_reference_no: refund.qr_partner_reference_no,
            refund_no: refund.refund_no.to_string(),
            partner_refund_no: refund.partner_refund_no,
            refund_amount: AmountAnswer::from_sen(refund.amount_sen),
            refund_time: format_rfc3339_jakarta(refund.refunded_at),
            additional_info: RefundAnswerInfo {
                payment_id: refund.payment_id.to_string(),
            },
        }
    }
}

/// Service 78 in the pipeline: the refund decided and written (with its notification) in the
/// claim's unit of work.
struct RefundService;

impl Service for RefundService {
    const CODE: ServiceCode = SERVICE;
    type Job = RefundPayment;
    type Plan = ();

    async fn prepare(
        state: &AppState,
        request: &SnapRequest,
        caller: &Caller,
    ) -> Result<(RefundPayment, ()), ApiError> {
        let body = parse_body(&request.body)?;
        require_service(caller, SERVICE)?;
        partner_merchant(state, caller, body.merchant_id.as_str()).await?;
        let config = &state.inner.config;
        let sen = body.amount.sen();
        if sen <= 0 || sen > config.max_amount_sen {
            return Err(ApiError::InvalidAmount);
        }
        let now = request.received_at;
        let store = &state.inner.store;
        let job = RefundPayment {
            client_id: caller.client_id.clone(),
            merchant_id: body.merchant_id,
            qr: body.qr,
            payment_id: body.payment_id,
            partner_refund_no: body.partner_refund_no.into_string(),
            amount_sen: sen,
            reason: body.reason,
            refund_no: store.next_qr_id(now)?,
            notification_id: store.next_qr_id(now)?,
            at: now,
            refund_window: time::Duration::try_from(config.refund_window)
                .map_err(|e| ApiError::internal("refund-window", e))?,
        };
        Ok((job, ()))
    }

    async fn answer(
        state: &AppState,
        _: &SnapRequest,
        (): (),
        done: Result<RefundOutcome, StoreError>,
    ) -> Result<Response, ApiError> {
        let refund = match done? {
            RefundOutcome::Refunded(refund) => {
                // Its notification is committed with it: the local worker may attempt it now.
                state.inner.outbox_wakeup.notify_one();
                refund
            }
            RefundOutcome::Repeated(refund) => refund,
            RefundOutcome::Inconsistent => return Err(ApiError::InconsistentRequest),
            RefundOutcome::Refused(refusal) => return Err(refused(refusal)),
        };
        Ok(success(SERVICE, RefundAnswer::of(refund)))
    }
}

fn refused(refusal: RefundRefusal) -> ApiError {
    match refusal {
        RefundRefusal::NotFound => ApiError::TransactionNotFound,
        RefundRefusal::NotPaid => ApiError::InvalidTransactionStatus,
        RefundRefusal::PaymentIdRequired => {
            ApiError::MissingField("additionalInfo.paymentId".to_owned())
        }
        RefundRefusal::OutsideWindow => ApiError::TransactionNotPermitted,
        RefundRefusal::ExceedsAmount => ApiError::ExceedsAmountLimit,
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

    const VALID: &str = r#"{"merchantId":"M1","originalReferenceNo":"7","partnerRefundNo":"RF-1","refundAmount":{"value":"10.00","currency":"IDR"}}"#;

    #[test]
    fn a_valid_request_names_the_qr_payment_and_amount() {
        let request = parse_body(VALID.as_bytes()).unwrap();
        assert_eq!(request.merchant_id.as_str(), "M1");
        assert_eq!(
            request.qr,
            QrReference::Id {
                id_qr: 7,
                partner_reference_no: None
            }
        );
        assert_eq!(request.amount.sen(), 1000);
        assert_eq!((request.reason, request.payment_id), (None, None));
        let with_payment = VALID.replace(
            r#""merchantId""#,
            r#""reason":"damaged","additionalInfo":{"paymentId":"12"},"merchantId""#,
        );
        let request = parse_body(with_payment.as_bytes()).unwrap();
        assert_eq!(request.payment_id, Some(12));
        assert_eq!(request.reason.as_deref(), Some("damaged"));
    }

    #[test]
    fn each_bad_field_is_named_with_its_code() {
        let cases = [
            (
                VALID.replace(r#""merchantId":"M1","#, ""),
                "4007802 Invalid Mandatory Field merchantId",
            ),
            (
                VALID.replace(r#""originalReferenceNo":"7","#, ""),
                "4007802 Invalid Mandatory Field originalReferenceNo",
            ),
            (
                VALID.replace(r#""7""#, r#""7x""#),
                "4007801 Invalid Field Format originalReferenceNo",
            ),
            (
                VALID.replace(r#""RF-1""#, r#""RF 1""#),
                "4007801 Invalid Field Format partnerRefundNo",
            ),
            (
                VALID.replace(r#""RF-1""#, &format!("\"{}\"", "R".repeat(65))),
                "4007801 Invalid Field Format partnerRefundNo",
            ),
            (
                VALID.replace(r#""RF-1""#, "null"),
                "4007802 Invalid Mandatory Field partnerRefundNo",
            ),
            (
                VALID.replace(r#"{"value":"10.00","currency":"IDR"}"#, "null"),
                "4007802 Invalid Mandatory Field refundAmount",
            ),
            (
                VALID.replace(r#""10.00""#, r#""10""#),
                "4007801 Invalid Field Format refundAmount.value",
            ),
            (
                VALID.replace(r#""IDR""#, r#""USD""#),
                "4007801 Invalid Field Format refundAmount.currency",
            ),
            (
                VALID.replace(
                    r#""merchantId""#,
                    &format!(r#""reason":"{}","merchantId""#, "r".repeat(257)),
                ),
                "4007801 Invalid Field Format reason",
            ),
            (
                VALID.replace(
                    r#""merchantId""#,
                    r#""additionalInfo":{"paymentId":12},"merchantId""#,
                ),
                "4007801 Invalid Field Format additionalInfo.paymentId",
            ),
            (
                VALID.replace(r#""merchantId""#, r#""additionalInfo":[],"merchantId""#),
                "4007801 Invalid Field Format additionalInfo",
            ),
            (
                "[]".to_owned(),
                "4007800 Bad Request. Body is not a JSON object",
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(message(&body), expected, "{body}");
        }
        let nul = VALID.replace(r#""merchantId""#, r#""reason":"a\u0000b","merchantId""#);
        assert_eq!(message(&nul), "4007801 Invalid Field Format reason");
        let reason = VALID.replace(
            r#""merchantId""#,
            &format!(r#""reason":"{}","merchantId""#, "é".repeat(256)),
        );
        assert!(parse_body(reason.as_bytes()).is_ok());
    }

    #[test]
    fn every_refusal_has_its_code() {
        let code = |refusal| refused(refusal).response_code(SERVICE).0.to_string();
        assert_eq!(code(RefundRefusal::NotFound), "4047801");
        assert_eq!(code(RefundRefusal::NotPaid), "4047800");
        assert_eq!(code(RefundRefusal::PaymentIdRequired), "4007802");
        assert_eq!(code(RefundRefusal::OutsideWindow), "4037815");
        assert_eq!(code(RefundRefusal::ExceedsAmount), "4037802");
    }
}
