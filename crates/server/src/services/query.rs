//! Service 51: Query the status of a generated QR (CONTRACT §4.4).

use crate::error::ApiError;
use crate::reply::{AmountAnswer, QrType, success};
use crate::services::{owned_merchant, parse_id_qr};
use crate::snap::{Caller, Service, SnapRequest, require_service, run_transaction};
use crate::state::AppState;
use crate::wire::{Field, from_body, schema};
use axum::body::Body;
use axum::extract::State;
use axum::http::Request;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use snapqris_protocol::{
    FieldError, MerchantId, PartnerReferenceNo, ServiceCode, format_rfc3339_jakarta,
};
use snapqris_store::{NoWork, QrCode, QrKind, StoreError};
use time::OffsetDateTime;
use utoipa::ToSchema;

const SERVICE: ServiceCode = ServiceCode::Query;

/// `POST /v1.0/qr/qr-mpm-query`.
pub(crate) async fn query_qr(State(state): State<AppState>, request: Request<Body>) -> Response {
    run_transaction::<Query>(state, request).await
}

/// Which QR the partner asks about.
enum Lookup {
    ById(i64, Option<PartnerReferenceNo>),
    ByPartnerReference(PartnerReferenceNo),
}

/// The request body as sent: `originalReferenceNo`, `originalPartnerReferenceNo` or both.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = QueryRequest)]
pub(crate) struct QueryBody {
    /// The `referenceNo` (`id_qr`) that generate answered.
    #[schema(schema_with = schema::id_qr)]
    #[serde(default)]
    original_reference_no: Field<String>,
    /// The `partnerReferenceNo` the QR was generated with.
    #[schema(schema_with = schema::partner_reference_no)]
    #[serde(default)]
    original_partner_reference_no: Field<String>,
    /// The service that made the QR: `47`.
    #[schema(schema_with = schema::generate_service_code, required = true)]
    #[serde(default)]
    service_code: Field<String>,
    /// The QR's merchant.
    #[schema(schema_with = schema::merchant_id, required = true)]
    #[serde(default)]
    merchant_id: Field<String>,
}

struct QueryRequest {
    lookup: Lookup,
    merchant_id: MerchantId,
}

impl TryFrom<QueryBody> for QueryRequest {
    type Error = FieldError;

    fn try_from(body: QueryBody) -> Result<Self, FieldError> {
        const REFERENCE: &str = "originalReferenceNo";
        const PARTNER_REFERENCE: &str = "originalPartnerReferenceNo";
        let reference = body
            .original_reference_no
            .optional_text(REFERENCE)?
            .map(|text| parse_id_qr(&text, REFERENCE))
            .transpose()?;
        let partner_reference = body
            .original_partner_reference_no
            .optional_text(PARTNER_REFERENCE)?
            .map(|text| {
                PartnerReferenceNo::parse(&text).map_err(|e| e.with_field(PARTNER_REFERENCE))
            })
            .transpose()?;
        let lookup = match (reference, partner_reference) {
            (Some(id), partner_reference) => Lookup::ById(id, partner_reference),
            (None, Some(partner_reference)) => Lookup::ByPartnerReference(partner_reference),
            (None, None) => return Err(FieldError::missing(REFERENCE)),
        };
        if body.service_code.required("serviceCode")? != "47" {
            return Err(FieldError::invalid("serviceCode"));
        }
        Ok(QueryRequest {
            lookup,
            merchant_id: MerchantId::parse(&body.merchant_id.required("merchantId")?)?,
        })
    }
}

fn parse_body(body: &[u8]) -> Result<QueryRequest, ApiError> {
    Ok(from_body::<QueryBody>(body)?.try_into()?)
}

/// Service 51 in the pipeline: the claim alone commits; the QR is read once it has.
struct Query;

impl Service for Query {
    const CODE: ServiceCode = SERVICE;
    type Job = NoWork;
    type Plan = QueryRequest;

    async fn prepare(
        state: &AppState,
        request: &SnapRequest,
        caller: &Caller,
    ) -> Result<(NoWork, QueryRequest), ApiError> {
        let body = parse_body(&request.body)?;
        require_service(caller, SERVICE)?;
        owned_merchant(state, caller, body.merchant_id.as_str()).await?;
        Ok((NoWork, body))
    }

    async fn answer(
        state: &AppState,
        request: &SnapRequest,
        body: QueryRequest,
        done: Result<(), StoreError>,
    ) -> Result<Response, ApiError> {
        done?;
        query(state, request, body).await
    }
}

async fn query(
    state: &AppState,
    request: &SnapRequest,
    body: QueryRequest,
) -> Result<Response, ApiError> {
    let store = &state.inner.store;
    let merchant_id = body.merchant_id.as_str();
    let qr = match &body.lookup {
        Lookup::ById(id, partner_reference) => {
            store.qr_by_id(merchant_id, *id).await?.filter(|qr| {
                partner_reference
                    .as_ref()
                    .is_none_or(|reference| reference.as_str() == qr.partner_reference_no)
            })
        }
        Lookup::ByPartnerReference(reference) => {
            store
                .qr_by_partner_reference(merchant_id, reference.as_str())
                .await?
        }
    };
    let qr = qr.ok_or(ApiError::TransactionNotFound)?;
    Ok(success(SERVICE, QueryAnswer::new(&qr, request.received_at)))
}

/// The latest payment's amount: a dynamic QR's own, a static QR's latest payment's.
fn latest_paid_sen(qr: &QrCode) -> Option<i64> {
    match qr.kind {
        QrKind::Dynamic => qr.amount_sen,
        QrKind::Static => qr.paid_amount_sen,
    }
}

/// `latestTransactionStatus` and its description (SNAP-NOTES "Query statuses", CONTRACT §6.3,
/// §6.4): a paid QR is `04` once its latest payment is refunded in full. The console shows the
/// same.
pub(crate) fn status(qr: &QrCode, now: OffsetDateTime) -> (&'static str, &'static str) {
    let expired = qr.cancelled_at.is_some() || qr.expires_at.is_some_and(|at| at <= now);
    let refunded = qr.latest_refunded_sen.unwrap_or(0);
    if qr.payment_count > 0 && refunded > 0 && Some(refunded) >= latest_paid_sen(qr) {
        ("04", "Refunded")
    } else if qr.payment_count > 0 {
        ("00", "Success")
    } else if qr.cancel_reason.is_some() {
        ("05", "Canceled")
    } else if expired {
        ("05", "Expired")
    } else {
        ("01", "Initiated")
    }
}

/// The `2005100` answer after its status.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QueryAnswer {
    /// The QR's `id_qr`.
    original_reference_no: String,
    /// The QR's `partnerReferenceNo`.
    original_partner_reference_no: String,
    /// `47`.
    #[schema(schema_with = schema::generate_service_code)]
    service_code: &'static str,
    /// `00` paid, `01` initiated, `04` refunded, `05` expired or cancelled.
    #[schema(schema_with = schema::transaction_status)]
    latest_transaction_status: &'static str,
    /// The status in words.
    transaction_status_desc: &'static str,
    /// When it was paid, RFC 3339 in +07:00; `null` until then.
    #[schema(required = true)]
    paid_time: Option<String>,
    /// A dynamic QR's amount; `null` for a static one.
    #[schema(required = true)]
    amount: Option<AmountAnswer>,
    /// The QRIS payload, as generate answered it.
    qr_content: String,
    /// The QR's type and expiry, and a static QR's payments.
    additional_info: QueryAnswerInfo,
}

/// `additionalInfo` of a query answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QueryAnswerInfo {
    /// `static` or `dynamic`.
    #[serde(rename = "type")]
    kind: QrType,
    /// When a dynamic QR expires, RFC 3339 in +07:00; `null` for a static one.
    #[schema(required = true)]
    expired_time: Option<String>,
    /// A static QR's payments so far (absent for a dynamic QR).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = i64)]
    payment_count: Option<i64>,
    /// A static QR's latest payment, `null` before the first (absent for a dynamic QR).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<AmountAnswer>)]
    paid_amount: Option<Option<AmountAnswer>>,
    /// The latest payment's `paymentId` (absent before the first payment).
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_id: Option<String>,
    /// The sum refunded of the latest payment (absent before its first refund).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = AmountAnswer)]
    refunded_amount: Option<AmountAnswer>,
}

impl QueryAnswer {
    fn new(qr: &QrCode, now: OffsetDateTime) -> Self {
        let (code, description) = status(qr, now);
        // A static QR has no amount of its own; the payer typed the latest payment's.
        let is_static = qr.kind == QrKind::Static;
        QueryAnswer {
            original_reference_no: qr.id_qr.to_string(),
            original_partner_reference_no: qr.partner_reference_no.clone(),
            service_code: "47",
            latest_transaction_status: code,
            transaction_status_desc: description,
            paid_time: qr.paid_at.map(format_rfc3339_jakarta),
            amount: qr.amount_sen.map(AmountAnswer::from_sen),
            qr_content: qr.qr_content.clone(),
            additional_info: QueryAnswerInfo {
                kind: qr.kind.into(),
                expired_time: qr.expires_at.map(format_rfc3339_jakarta),
                payment_count: is_static.then_some(qr.payment_count),
                paid_amount: is_static.then(|| qr.paid_amount_sen.map(AmountAnswer::from_sen)),
                payment_id: qr.latest_payment_id.map(|id| id.to_string()),
                refunded_amount: qr
                    .latest_refunded_sen
                    .filter(|sen| *sen > 0)
                    .map(AmountAnswer::from_sen),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn dynamic_qr() -> QrCode {
        QrCode {
            id_qr: 7,
            merchant_id: "M1".into(),
            client_id: "p".into(),
            partner_reference_no: "R".into(),
            kind: QrKind::Dynamic,
            amount_sen: Some(100),
            terminal_id: None,
            generated_at: datetime!(2026-11-25 08:00 UTC),
            expires_at: Some(datetime!(2026-11-25 08:30 UTC)),
            cancelled_at: None,
            cancel_reason: None,
            qr_content: String::new(),
            paid_at: None,
            paid_amount_sen: None,
            payment_count: 0,
            latest_payment_id: None,
            latest_refunded_sen: None,
        }
    }

    #[test]
    fn a_dynamic_qr_is_initiated_until_it_expires() {
        let qr = dynamic_qr();
        assert_eq!(status(&qr, datetime!(2026-11-25 08:29:59 UTC)).0, "01");
        assert_eq!(status(&qr, datetime!(2026-11-25 08:30 UTC)).0, "05");
    }

    #[test]
    fn a_paid_qr_is_refunded_once_its_latest_payment_is_refunded_in_full() {
        let paid = QrCode {
            payment_count: 1,
            paid_at: Some(datetime!(2026-11-25 08:10 UTC)),
            latest_payment_id: Some(9),
            latest_refunded_sen: Some(99),
            ..dynamic_qr()
        };
        let now = datetime!(2026-11-25 08:20 UTC);
        assert_eq!(status(&paid, now).0, "00");
        let answer = serde_json::to_value(QueryAnswer::new(&paid, now)).unwrap();
        assert_eq!(
            answer["additionalInfo"]["refundedAmount"].to_string(),
            r#"{"value":"0.99","currency":"IDR"}"#
        );
        let refunded = QrCode {
            latest_refunded_sen: Some(100),
            ..paid.clone()
        };
        assert_eq!(status(&refunded, now), ("04", "Refunded"));
        let static_qr = QrCode {
            kind: QrKind::Static,
            amount_sen: None,
            paid_amount_sen: Some(500),
            latest_refunded_sen: Some(100),
            ..paid
        };
        assert_eq!(status(&static_qr, now).0, "00");
        let static_refunded = QrCode {
            latest_refunded_sen: Some(500),
            ..static_qr
        };
        assert_eq!(status(&static_refunded, now).0, "04");
    }

    #[test]
    fn a_cancelled_qr_is_canceled_and_an_expired_one_expired() {
        let now = datetime!(2026-11-25 08:20 UTC);
        let expired = QrCode {
            cancelled_at: Some(datetime!(2026-11-25 08:15 UTC)),
            expires_at: Some(datetime!(2026-11-25 08:15 UTC)),
            ..dynamic_qr()
        };
        assert_eq!(status(&expired, now), ("05", "Expired"));
        let cancelled = QrCode {
            cancel_reason: Some("withdrawn".into()),
            ..expired
        };
        assert_eq!(status(&cancelled, now), ("05", "Canceled"));
    }

    #[test]
    fn a_paid_qr_is_success_even_after_its_expiry() {
        let qr = QrCode {
            payment_count: 1,
            paid_at: Some(datetime!(2026-11-25 08:10 UTC)),
            ..dynamic_qr()
        };
        assert_eq!(
            status(&qr, datetime!(2026-11-26 00:00 UTC)),
            ("00", "Success")
        );
    }

    fn message(body: &str) -> String {
        let error = parse_body(body.as_bytes()).err().expect(body);
        error.response_code(SERVICE).1
    }

    #[test]
    fn either_reference_is_enough_and_an_empty_or_null_one_counts_as_absent() {
        let tail = r#""serviceCode":"47","merchantId":"M1""#;
        let by_id = parse_body(format!(r#"{{"originalReferenceNo":"7",{tail}}}"#).as_bytes());
        assert!(matches!(by_id.unwrap().lookup, Lookup::ById(7, None)));
        let by_partner =
            format!(r#"{{"originalReferenceNo":"","originalPartnerReferenceNo":"R1",{tail}}}"#);
        let by_partner = parse_body(by_partner.as_bytes()).unwrap();
        assert!(matches!(by_partner.lookup, Lookup::ByPartnerReference(r) if r.as_str() == "R1"));
        for neither in [
            format!("{{{tail}}}"),
            format!(r#"{{"originalReferenceNo":null,"originalPartnerReferenceNo":"",{tail}}}"#),
        ] {
            assert_eq!(
                message(&neither),
                "Invalid Mandatory Field originalReferenceNo"
            );
        }
    }

    #[test]
    fn each_field_of_the_wrong_type_or_format_is_named() {
        let cases = [
            (
                r#"{"originalReferenceNo":7,"serviceCode":"47","merchantId":"M1"}"#,
                "Invalid Field Format originalReferenceNo",
            ),
            (
                r#"{"originalPartnerReferenceNo":"R 1","serviceCode":"47","merchantId":"M1"}"#,
                "Invalid Field Format originalPartnerReferenceNo",
            ),
            (
                r#"{"originalPartnerReferenceNo":[],"serviceCode":"47","merchantId":"M1"}"#,
                "Invalid Field Format originalPartnerReferenceNo",
            ),
            (
                r#"{"originalReferenceNo":"7","serviceCode":"51","merchantId":"M1"}"#,
                "Invalid Field Format serviceCode",
            ),
            (
                r#"{"originalReferenceNo":"7","serviceCode":47,"merchantId":"M1"}"#,
                "Invalid Field Format serviceCode",
            ),
            (
                r#"{"originalReferenceNo":"7","merchantId":"M1"}"#,
                "Invalid Mandatory Field serviceCode",
            ),
            (
                r#"{"originalReferenceNo":"7","serviceCode":"47","merchantId":null}"#,
                "Invalid Mandatory Field merchantId",
            ),
            (
                r#"{"originalReferenceNo":"7","serviceCode":"47","merchantId":"M-1"}"#,
                "Invalid Field Format merchantId",
            ),
            (
                r#"{"originalReferenceNo":"x","serviceCode":"51"}"#,
                "Invalid Field Format originalReferenceNo",
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(message(body), expected, "{body}");
        }
    }

    #[test]
    fn a_dynamic_answer_has_its_amount_and_no_static_payments() {
        let answer = serde_json::to_string(&QueryAnswer::new(
            &dynamic_qr(),
            datetime!(2026-11-25 08:10 UTC),
        ))
        .unwrap();
        assert_eq!(
            answer,
            r#"{"originalReferenceNo":"7","originalPartnerReferenceNo":"R","serviceCode":"47","latestTransactionStatus":"01","transactionStatusDesc":"Initiated","paidTime":null,"amount":{"value":"1.00","currency":"IDR"},"qrContent":"","additionalInfo":{"type":"dynamic","expiredTime":"2026-11-25T15:30:00+07:00"}}"#
        );
    }

    #[test]
    fn a_static_answer_has_a_null_amount_and_its_payments() {
        let qr = QrCode {
            kind: QrKind::Static,
            amount_sen: None,
            expires_at: None,
            ..dynamic_qr()
        };
        let unpaid = serde_json::to_value(QueryAnswer::new(&qr, qr.generated_at)).unwrap();
        assert!(unpaid["amount"].is_null());
        assert_eq!(
            unpaid["additionalInfo"].to_string(),
            r#"{"type":"static","expiredTime":null,"paymentCount":0,"paidAmount":null}"#
        );
        let paid = QrCode {
            payment_count: 2,
            paid_amount_sen: Some(500),
            paid_at: Some(datetime!(2026-11-25 08:10 UTC)),
            latest_payment_id: Some(12),
            ..qr
        };
        let paid = serde_json::to_value(QueryAnswer::new(&paid, paid.generated_at)).unwrap();
        assert_eq!(paid["paidTime"], "2026-11-25T15:10:00+07:00");
        assert_eq!(
            paid["additionalInfo"].to_string(),
            r#"{"type":"static","expiredTime":null,"paymentCount":2,"paidAmount":{"value":"5.00","currency":"IDR"},"paymentId":"12"}"#
        );
    }

    #[test]
    fn a_reference_must_be_digits() {
        let body = br#"{"originalReferenceNo":"12a","serviceCode":"47","merchantId":"M1"}"#;
        let error = parse_body(body).err().unwrap();
        assert_eq!(
            error.response_code(SERVICE).1,
            "Invalid Field Format originalReferenceNo"
        );
        let body = br#"{"serviceCode":"47","merchantId":"M1"}"#;
        let error = parse_body(body).err().unwrap();
        assert_eq!(
            error.response_code(SERVICE).1,
            "Invalid Mandatory Field originalReferenceNo"
        );
    }
}
