//! Service 50: QR MPM payment, a payer's institution reporting a payment (CONTRACT §6.1).

use crate::error::ApiError;
use crate::reply::{AmountAnswer, success};
use crate::services::generate::AmountBody;
use crate::services::limited_text as limited;
use crate::snap::{Caller, Service, SnapRequest, require_service, run_transaction};
use crate::state::AppState;
use crate::wire::{Field, FromJson, from_body, nested, schema};
use axum::body::Body;
use axum::extract::State;
use axum::http::Request;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use snapqris_protocol::{
    Amount, FieldError, PartnerReferenceNo, ServiceCode, format_rfc3339_jakarta,
};
use snapqris_store::{
    PayerDetails, Payment, PaymentOutcome, PaymentRefusal, RecordPayment, StoreError,
};
use utoipa::ToSchema;

const SERVICE: ServiceCode = ServiceCode::Payment;

/// `POST /v1.0/qr/qr-mpm-payment`.
pub(crate) async fn pay_qr(State(state): State<AppState>, request: Request<Body>) -> Response {
    run_transaction::<Pay>(state, request).await
}

/// The request body as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PaymentRequest)]
pub(crate) struct PaymentBody {
    /// The payer's reference, unique per payer partner.
    #[schema(schema_with = schema::partner_reference_no, required = true)]
    #[serde(default)]
    partner_reference_no: Field<String>,
    /// The QRIS payload as scanned.
    #[schema(value_type = String, required = true)]
    #[serde(default)]
    qr_content: Field<String>,
    /// Mandatory for a static QR; for a dynamic one optional and, when sent, its own amount.
    #[schema(value_type = AmountBody)]
    #[serde(default)]
    amount: Field<AmountBody>,
    /// What the payer says about the payment.
    #[schema(value_type = PaymentInfoBody)]
    #[serde(default)]
    additional_info: Field<PaymentInfoBody>,
}

/// `additionalInfo` as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PaymentInfo)]
pub(crate) struct PaymentInfoBody {
    /// The issuer's name, at most 64 characters.
    #[schema(value_type = String, max_length = 64)]
    #[serde(default)]
    issuer_name: Field<String>,
    /// The paying customer's name, at most 64 characters.
    #[schema(value_type = String, max_length = 64)]
    #[serde(default)]
    customer_name: Field<String>,
    /// The retrieval reference number, at most 32 characters.
    #[schema(value_type = String, max_length = 32)]
    #[serde(default)]
    rrn: Field<String>,
}

impl FromJson for PaymentInfoBody {
    fn from_json(value: serde_json::Value) -> Option<Self> {
        nested(value)
    }
}

/// The validated request body.
struct PaymentRequest {
    partner_reference_no: PartnerReferenceNo,
    qr_content: String,
    amount: Option<Amount>,
    details: PayerDetails,
}

impl PaymentBody {
    fn validate(self) -> Result<PaymentRequest, FieldError> {
        let partner_reference_no =
            PartnerReferenceNo::parse(&self.partner_reference_no.required("partnerReferenceNo")?)?;
        let qr_content = self.qr_content.required("qrContent")?;
        let amount = self
            .amount
            .optional("amount")?
            .map(AmountBody::validate)
            .transpose()?;
        let details = match self.additional_info.optional("additionalInfo")? {
            None => PayerDetails::default(),
            Some(info) => PayerDetails {
                issuer_name: limited(info.issuer_name, "additionalInfo.issuerName", 64)?,
                customer_name: limited(info.customer_name, "additionalInfo.customerName", 64)?,
                rrn: limited(info.rrn, "additionalInfo.rrn", 32)?,
            },
        };
        Ok(PaymentRequest {
            partner_reference_no,
            qr_content,
            amount,
            details,
        })
    }
}

fn parse_body(body: &[u8]) -> Result<PaymentRequest, ApiError> {
    Ok(from_body::<PaymentBody>(body)?.validate()?)
}

/// The QR a payload names: its bill number (tag 62.01), once the payload parses as QRIS with
/// a right CRC. The store then checks the QR's payload byte for byte; a bill number that is
/// no `id_qr` of ours is no QR of ours.
fn named_qr(qr_content: &str) -> Result<i64, ApiError> {
    let payload = snapqris_qris::parse(qr_content)
        .map_err(|_| ApiError::InvalidField("qrContent".to_owned()))?;
    payload
        .bill_number()
        .and_then(|bill| bill.parse::<i64>().ok())
        .filter(|id_qr| *id_qr > 0)
        .ok_or(ApiError::TransactionNotFound)
}

/// The `2005000` answer after its status.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PaymentAnswer {
    /// The `paymentId`.
    reference_no: String,
    /// The payer's reference, as sent.
    partner_reference_no: String,
    /// When it was paid, RFC 3339 in +07:00.
    paid_time: String,
    /// The amount paid.
    amount: AmountAnswer,
    /// The QR paid.
    additional_info: PaymentAnswerInfo,
}

/// `additionalInfo` of a payment answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PaymentAnswerInfo {
    /// The QR's `id_qr`.
    qr_id: String,
    /// The QR's merchant.
    merchant_id: String,
}

impl PaymentAnswer {
    fn of(payment: Payment) -> Self {
        PaymentAnswer {
            reference_no: payment.payment_id.to_string(),
            partner_reference_no: payment.partner_reference_no,
            paid_time: format_rfc3339_jakarta(payment.paid_at),
            amount: AmountAnswer::from_sen(payment.amount_sen),
            additional_info: PaymentAnswerInfo {
                qr_id: payment.id_qr.to_string(),
                merchant_id: payment.merchant_id,
            },
        }
    }
}

/// Service 50 in the pipeline: the payload is checked before the claim, the payment decided
/// and written with it in one unit of work.
struct Pay;

impl Service for Pay {
    const CODE: ServiceCode = SERVICE;
    type Job = RecordPayment;
    type Plan = ();

    async fn prepare(
        state: &AppState,
        request: &SnapRequest,
        caller: &Caller,
    ) -> Result<(RecordPayment, ()), ApiError> {
        let body = parse_body(&request.body)?;
        require_service(caller, SERVICE)?;
        let id_qr = named_qr(&body.qr_content)?;
        if let Some(amount) = body.amount
            && (amount.sen() <= 0 || amount.sen() > state.inner.config.max_amount_sen)
        {
            return Err(ApiError::InvalidAmount);
        }
        let now = request.received_at;
        let job = RecordPayment {
            payer: caller.client_id.clone(),
            partner_reference_no: body.partner_reference_no.as_str().to_owned(),
            id_qr,
            qr_content: body.qr_content,
            amount_sen: body.amount.map(Amount::sen),
            payment_id: state.inner.store.next_qr_id(now)?,
            notification_id: state.inner.store.next_qr_id(now)?,
            at: now,
            details: body.details,
        };
        Ok((job, ()))
    }

    async fn answer(
        state: &AppState,
        _: &SnapRequest,
        (): (),
        done: Result<PaymentOutcome, StoreError>,
    ) -> Result<Response, ApiError> {
        let payment = match done? {
            PaymentOutcome::Paid(payment) => {
                // Its notification is committed with it: the local worker may attempt it now.
                state.inner.outbox_wakeup.notify_one();
                payment
            }
            PaymentOutcome::Repeated(payment) => payment,
            PaymentOutcome::Inconsistent => return Err(ApiError::InconsistentRequest),
            PaymentOutcome::MerchantBlacklisted => return Err(ApiError::MerchantBlacklisted),
            PaymentOutcome::Refused(refusal) => return Err(refused(refusal)),
        };
        Ok(success(SERVICE, PaymentAnswer::of(payment)))
    }
}

fn refused(refusal: PaymentRefusal) -> ApiError {
    match refusal {
        PaymentRefusal::NotFound => ApiError::TransactionNotFound,
        PaymentRefusal::AlreadyPaid | PaymentRefusal::Expired => ApiError::InvalidTransactionStatus,
        PaymentRefusal::AmountRequired | PaymentRefusal::AmountMismatch => ApiError::InvalidAmount,
    }
}
