//! Service 51: Query the status of a generated QR (CONTRACT §4.4).

use crate::error::ApiError;
use crate::reply::success;
use crate::services::{owned_merchant, parse_id_qr};
use crate::snap::{
    Caller, Service, SnapRequest, json_object, optional_str, require_service, required_str,
    run_transaction,
};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::Request;
use axum::response::Response;
use serde_json::{Map, Value, json};
use snapqris_protocol::{
    Amount, MerchantId, PartnerReferenceNo, ServiceCode, format_rfc3339_jakarta,
};
use snapqris_store::{NoWork, QrCode, QrKind, StoreError};
use time::OffsetDateTime;

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

struct QueryRequest {
    lookup: Lookup,
    merchant_id: MerchantId,
}

fn parse_body(body: &[u8]) -> Result<QueryRequest, ApiError> {
    let object = json_object(body)?;
    let reference = optional_str(&object, "originalReferenceNo", "originalReferenceNo")?
        .filter(|text| !text.is_empty())
        .map(|text| parse_id_qr(text, "originalReferenceNo"))
        .transpose()?;
    let partner_reference = optional_str(
        &object,
        "originalPartnerReferenceNo",
        "originalPartnerReferenceNo",
    )?
    .filter(|text| !text.is_empty())
    .map(|text| {
        PartnerReferenceNo::parse(text).map_err(|e| e.with_field("originalPartnerReferenceNo"))
    })
    .transpose()?;
    let lookup = match (reference, partner_reference) {
        (Some(id), partner_reference) => Lookup::ById(id, partner_reference),
        (None, Some(partner_reference)) => Lookup::ByPartnerReference(partner_reference),
        (None, None) => return Err(ApiError::MissingField("originalReferenceNo".into())),
    };
    if required_str(&object, "serviceCode", "serviceCode")? != "47" {
        return Err(ApiError::InvalidField("serviceCode".into()));
    }
    let merchant_id = MerchantId::parse(required_str(&object, "merchantId", "merchantId")?)?;
    Ok(QueryRequest {
        lookup,
        merchant_id,
    })
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
    Ok(success(SERVICE, status_fields(&qr, request.received_at)))
}

/// `latestTransactionStatus` and its description (SNAP-NOTES "Query statuses").
fn status(qr: &QrCode, now: OffsetDateTime) -> (&'static str, &'static str) {
    let expired = qr.cancelled_at.is_some() || qr.expires_at.is_some_and(|at| at <= now);
    if qr.payment_count > 0 {
        ("00", "Success")
    } else if expired {
        ("05", "Expired")
    } else {
        ("01", "Initiated")
    }
}

fn amount_json(sen: Option<i64>) -> Value {
    match sen {
        Some(sen) => json!({"value": Amount::from_sen(sen).to_string(), "currency": "IDR"}),
        None => Value::Null,
    }
}

fn status_fields(qr: &QrCode, now: OffsetDateTime) -> Map<String, Value> {
    let (code, description) = status(qr, now);
    let mut fields = Map::new();
    fields.insert("originalReferenceNo".into(), qr.id_qr.to_string().into());
    fields.insert(
        "originalPartnerReferenceNo".into(),
        qr.partner_reference_no.clone().into(),
    );
    fields.insert("serviceCode".into(), "47".into());
    fields.insert("latestTransactionStatus".into(), code.into());
    fields.insert("transactionStatusDesc".into(), description.into());
    fields.insert(
        "paidTime".into(),
        qr.paid_at.map(format_rfc3339_jakarta).into(),
    );
    fields.insert("amount".into(), amount_json(qr.amount_sen));
    fields.insert("qrContent".into(), qr.qr_content.clone().into());
    let mut info = Map::new();
    info.insert("type".into(), qr.kind.as_str().into());
    info.insert(
        "expiredTime".into(),
        qr.expires_at.map(format_rfc3339_jakarta).into(),
    );
    if qr.kind == QrKind::Static {
        // A static QR has no amount of its own; the payer typed the latest payment's.
        info.insert("paymentCount".into(), qr.payment_count.into());
        info.insert("paidAmount".into(), amount_json(qr.paid_amount_sen));
    }
    fields.insert("additionalInfo".into(), Value::Object(info));
    fields
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
            qr_content: String::new(),
            paid_at: None,
            paid_amount_sen: None,
            payment_count: 0,
        }
    }

    #[test]
    fn a_dynamic_qr_is_initiated_until_it_expires() {
        let qr = dynamic_qr();
        assert_eq!(status(&qr, datetime!(2026-11-25 08:29:59 UTC)).0, "01");
        assert_eq!(status(&qr, datetime!(2026-11-25 08:30 UTC)).0, "05");
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
