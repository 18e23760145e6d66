//! Service 47: Generate QR MPM (CONTRACT §4.4).

use crate::error::ApiError;
use crate::reply::success;
use crate::services::owned_merchant;
use crate::snap::{
    Caller, Service, SnapRequest, json_object, optional_str, require_service, required_str,
    run_transaction,
};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::Request;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};
use snapqris_protocol::{
    Amount, MerchantId, PartnerReferenceNo, ServiceCode, TerminalId, XTimestamp,
    format_rfc3339_jakarta,
};
use snapqris_qris::{Initiation, MerchantProfile};
use snapqris_store::{Constraint, InsertQr, Merchant, NewQr, QrKind, StoreError};
use std::str::FromStr;
use time::OffsetDateTime;

const SERVICE: ServiceCode = ServiceCode::GenerateQr;

/// `POST /v1.0/qr/qr-mpm-generate`.
pub(crate) async fn generate_qr(State(state): State<AppState>, request: Request<Body>) -> Response {
    run_transaction::<Generate>(state, request).await
}

/// The validated request body.
struct GenerateRequest {
    partner_reference_no: PartnerReferenceNo,
    merchant_id: MerchantId,
    amount: Option<Amount>,
    terminal_id: Option<TerminalId>,
    validity_period: Option<OffsetDateTime>,
    /// `additionalInfo.qrImage`: also answer the code as a Base64 PNG.
    qr_image: bool,
}

/// Pixels per QR module of `qrImage`: a 57-module code becomes a 520-pixel image.
const QR_IMAGE_SCALE: u32 = 8;

fn parse_qr_image_flag(object: &Map<String, Value>) -> Result<bool, ApiError> {
    let Some(Value::Object(info)) = object.get("additionalInfo") else {
        return Ok(false);
    };
    match info.get("qrImage") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(flag)) => Ok(*flag),
        Some(_) => Err(ApiError::InvalidField("additionalInfo.qrImage".into())),
    }
}

fn parse_amount(object: &Map<String, Value>) -> Result<Option<Amount>, ApiError> {
    let amount = match object.get("amount") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(amount)) => amount,
        Some(_) => return Err(ApiError::InvalidField("amount".into())),
    };
    let value = Amount::parse(required_str(amount, "value", "amount.value")?)
        .map_err(|e| e.with_field("amount.value"))?;
    if required_str(amount, "currency", "amount.currency")? != "IDR" {
        return Err(ApiError::InvalidField("amount.currency".into()));
    }
    Ok(Some(value))
}

fn parse_body(body: &[u8], now: OffsetDateTime) -> Result<GenerateRequest, ApiError> {
    let object = json_object(body)?;
    let partner_reference_no = PartnerReferenceNo::parse(required_str(
        &object,
        "partnerReferenceNo",
        "partnerReferenceNo",
    )?)?;
    let merchant_id = MerchantId::parse(required_str(&object, "merchantId", "merchantId")?)?;
    let amount = parse_amount(&object)?;
    let terminal_id = optional_str(&object, "terminalId", "terminalId")?
        .filter(|text| !text.is_empty())
        .map(TerminalId::parse)
        .transpose()?;
    let validity_period = match optional_str(&object, "validityPeriod", "validityPeriod")? {
        None => None,
        // A static QR never expires, so a validity on one is a contradiction (CONTRACT §4.4).
        Some(_) if amount.is_none() => return Err(ApiError::InvalidField("validityPeriod".into())),
        Some(text) => {
            let until = XTimestamp::parse(text)
                .map_err(|_| ApiError::InvalidField("validityPeriod".into()))?
                .instant();
            if until <= now {
                return Err(ApiError::InvalidField("validityPeriod".into()));
            }
            Some(until)
        }
    };
    Ok(GenerateRequest {
        partner_reference_no,
        merchant_id,
        amount,
        terminal_id,
        validity_period,
        qr_image: parse_qr_image_flag(&object)?,
    })
}

/// The payload identity of a merchant under this deployment's acquirer.
fn merchant_profile(state: &AppState, merchant: &Merchant) -> Result<MerchantProfile, ApiError> {
    let config = &state.inner.config;
    let criteria = snapqris_qris::Criteria::from_str(&merchant.criteria)
        .map_err(|e| ApiError::internal(format!("merchant {}", merchant.merchant_id), e))?;
    Ok(MerchantProfile {
        acquirer_domain: config.acquirer_domain.clone(),
        acquirer_nns: config.acquirer_nns.clone(),
        merchant_pan: snapqris_qris::merchant_pan(&config.acquirer_nns, merchant.pan_account),
        merchant_id: merchant.merchant_id.clone(),
        criteria,
        nmid: merchant.nmid.clone(),
        mcc: merchant.mcc.clone(),
        name: merchant.name.clone(),
        city: merchant.city.clone(),
        postal_code: merchant.postal_code.clone(),
    })
}

/// A QR ready to store, and what the answer needs besides it.
struct Prepared {
    qr: NewQr,
    merchant_name: String,
    qr_image: Option<Vec<u8>>,
}

/// Service 47 in the pipeline: the QR is checked and built before the claim, then stored with
/// it in one unit of work.
struct Generate;

impl Service for Generate {
    const CODE: ServiceCode = SERVICE;
    type Job = InsertQr;
    type Plan = Prepared;

    async fn prepare(
        state: &AppState,
        request: &SnapRequest,
        caller: &Caller,
    ) -> Result<(InsertQr, Prepared), ApiError> {
        let prepared = prepare(state, request, caller).await?;
        Ok((InsertQr(prepared.qr.clone()), prepared))
    }

    async fn answer(
        _: &AppState,
        _: &SnapRequest,
        prepared: Prepared,
        done: Result<(), StoreError>,
    ) -> Result<Response, ApiError> {
        match done {
            Ok(()) => Ok(answer(prepared)),
            Err(StoreError::Conflict(Constraint::PartnerReferenceNo)) => {
                Err(ApiError::DuplicatePartnerReference)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Checks the request and builds its QR.
async fn prepare(
    state: &AppState,
    request: &SnapRequest,
    caller: &Caller,
) -> Result<Prepared, ApiError> {
    let now = request.received_at;
    let body = parse_body(&request.body, now)?;
    require_service(caller, SERVICE)?;
    let merchant = owned_merchant(state, caller, body.merchant_id.as_str()).await?;
    let config = &state.inner.config;
    if let Some(amount) = body.amount
        && (amount.sen() <= 0 || amount.sen() > config.max_amount_sen)
    {
        return Err(ApiError::InvalidAmount);
    }

    let id_qr = state.inner.store.next_qr_id(now)?;
    let (initiation, kind, expires_at) = match body.amount {
        None => (Initiation::Static, QrKind::Static, None),
        Some(amount) => (
            Initiation::Dynamic {
                amount_sen: amount.sen(),
            },
            QrKind::Dynamic,
            Some(
                body.validity_period
                    .unwrap_or(now + config.dynamic_validity),
            ),
        ),
    };
    let terminal = body.terminal_id.as_ref().map(|t| t.as_str());
    let qr_content = snapqris_qris::build(
        &merchant_profile(state, &merchant)?,
        &initiation,
        &id_qr.to_string(),
        terminal,
    )
    .map_err(|e| ApiError::internal("building the payload", e))?;
    // Drawn before storing, so a drawing failure leaves nothing behind.
    let qr_image = body
        .qr_image
        .then(|| snapqris_qrimage::render_png(&qr_content, QR_IMAGE_SCALE))
        .transpose()
        .map_err(|e| ApiError::internal("drawing the QR image", e))?;
    Ok(Prepared {
        qr: NewQr {
            id_qr,
            merchant_id: body.merchant_id,
            client_id: caller.client_id.clone(),
            partner_reference_no: body.partner_reference_no.as_str().to_owned(),
            kind,
            amount_sen: body.amount.map(Amount::sen),
            terminal_id: terminal.map(str::to_owned),
            generated_at: now,
            expires_at,
            qr_content,
        },
        merchant_name: merchant.name.clone(),
        qr_image,
    })
}

/// The `2004700` answer for a stored QR.
fn answer(prepared: Prepared) -> Response {
    let qr = prepared.qr;
    let mut info = Map::new();
    info.insert("type".into(), qr.kind.as_str().into());
    info.insert(
        "expiredTime".into(),
        qr.expires_at.map(format_rfc3339_jakarta).into(),
    );
    let mut fields = Map::new();
    fields.insert("referenceNo".into(), qr.id_qr.to_string().into());
    fields.insert("partnerReferenceNo".into(), qr.partner_reference_no.into());
    fields.insert("qrContent".into(), qr.qr_content.into());
    fields.insert("merchantName".into(), prepared.merchant_name.into());
    fields.insert("terminalId".into(), qr.terminal_id.into());
    fields.insert("additionalInfo".into(), Value::Object(info));
    if let Some(png) = prepared.qr_image {
        fields.insert("qrImage".into(), STANDARD.encode(png).into());
    }
    success(SERVICE, fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-25 08:00 UTC);

    fn message(body: &str) -> String {
        let error = parse_body(body.as_bytes(), NOW).err().expect(body);
        error.response_code(SERVICE).1
    }

    #[test]
    fn amounts_need_exactly_two_decimals_and_rupiah() {
        let base = r#""partnerReferenceNo":"R1","merchantId":"M1""#;
        assert_eq!(
            message(&format!(
                r#"{{{base},"amount":{{"value":"9000","currency":"IDR"}}}}"#
            )),
            "Invalid Field Format amount.value"
        );
        assert_eq!(
            message(&format!(
                r#"{{{base},"amount":{{"value":"9000.00","currency":"USD"}}}}"#
            )),
            "Invalid Field Format amount.currency"
        );
        assert_eq!(
            message(&format!(r#"{{{base},"amount":{{"currency":"IDR"}}}}"#)),
            "Invalid Mandatory Field amount.value"
        );
    }

    #[test]
    fn a_validity_period_is_refused_on_static_codes_and_in_the_past() {
        let base = r#""partnerReferenceNo":"R1","merchantId":"M1""#;
        assert_eq!(
            message(&format!(
                r#"{{{base},"validityPeriod":"2026-11-25T16:00:00+07:00"}}"#
            )),
            "Invalid Field Format validityPeriod"
        );
        assert_eq!(
            message(&format!(
                r#"{{{base},"amount":{{"value":"1.00","currency":"IDR"}},"validityPeriod":"2026-11-25T14:00:00+07:00"}}"#
            )),
            "Invalid Field Format validityPeriod"
        );
    }

    #[test]
    fn mandatory_fields_are_named() {
        assert_eq!(
            message(r#"{"merchantId":"M1"}"#),
            "Invalid Mandatory Field partnerReferenceNo"
        );
        assert_eq!(
            message(r#"{"partnerReferenceNo":"R1"}"#),
            "Invalid Mandatory Field merchantId"
        );
        assert_eq!(
            message(r#"{"partnerReferenceNo":"R 1","merchantId":"M1"}"#),
            "Invalid Field Format partnerReferenceNo"
        );
    }

    #[test]
    fn a_future_validity_on_a_dynamic_code_is_kept() {
        let body = r#"{"partnerReferenceNo":"R1","merchantId":"M1","amount":{"value":"1.00","currency":"IDR"},"validityPeriod":"2026-11-25T16:00:00+07:00"}"#;
        let parsed = parse_body(body.as_bytes(), NOW).unwrap();
        assert_eq!(
            parsed.validity_period,
            Some(datetime!(2026-11-25 09:00 UTC))
        );
    }
}
