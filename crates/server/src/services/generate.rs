//! Service 47: Generate QR MPM (CONTRACT §4.4).

use crate::error::ApiError;
use crate::reply::{QrType, success};
use crate::services::owned_merchant;
use crate::snap::{Caller, Service, SnapRequest, require_service, run_transaction};
use crate::state::AppState;
use crate::wire::{Field, FromJson, from_body, nested, schema};
use axum::body::Body;
use axum::extract::State;
use axum::http::Request;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use snapqris_protocol::{
    Amount, FieldError, MerchantId, PartnerReferenceNo, ServiceCode, TerminalId, XTimestamp,
    format_rfc3339_jakarta,
};
use snapqris_qris::{Initiation, MerchantProfile};
use snapqris_store::{Constraint, InsertQr, Merchant, NewQr, QrKind, StoreError};
use std::str::FromStr;
use time::OffsetDateTime;
use utoipa::ToSchema;

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

/// The request body as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = GenerateRequest)]
pub(crate) struct GenerateBody {
    /// The partner's reference, unique per merchant.
    #[schema(schema_with = schema::partner_reference_no, required = true)]
    #[serde(default)]
    partner_reference_no: Field<String>,
    /// The merchant.
    #[schema(schema_with = schema::merchant_id, required = true)]
    #[serde(default)]
    merchant_id: Field<String>,
    /// Absent for a static QR, the amount of a dynamic one.
    #[schema(value_type = AmountBody)]
    #[serde(default)]
    amount: Field<AmountBody>,
    /// The terminal, written into the payload's tag 62.
    #[schema(schema_with = schema::terminal_id)]
    #[serde(default)]
    terminal_id: Field<String>,
    /// Until when a dynamic QR can be paid (RFC 3339, in the future); default now plus
    /// `dynamic-validity`. Refused on a static QR.
    #[schema(schema_with = schema::timestamp)]
    #[serde(default)]
    validity_period: Field<String>,
    /// Options; any other JSON type is ignored.
    #[schema(value_type = GenerateInfoBody)]
    #[serde(default)]
    additional_info: Field<GenerateInfoBody>,
}

/// `amount` as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = AmountRequest)]
pub(crate) struct AmountBody {
    /// Rupiah with exactly two decimals, in (0, `max-amount`].
    #[schema(schema_with = schema::amount_value, required = true)]
    #[serde(default)]
    value: Field<String>,
    /// `IDR`.
    #[schema(schema_with = schema::currency, required = true)]
    #[serde(default)]
    currency: Field<String>,
}

impl FromJson for AmountBody {
    fn from_json(value: serde_json::Value) -> Option<Self> {
        nested(value)
    }
}

/// `additionalInfo` as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = GenerateInfo)]
pub(crate) struct GenerateInfoBody {
    /// Also answer the QR as a Base64 PNG (`qrImage`).
    #[schema(value_type = bool)]
    #[serde(default)]
    qr_image: Field<bool>,
}

impl FromJson for GenerateInfoBody {
    fn from_json(value: serde_json::Value) -> Option<Self> {
        nested(value)
    }
}

impl AmountBody {
    /// The amount: `value` two decimals, `currency` `IDR`.
    pub(crate) fn validate(self) -> Result<Amount, FieldError> {
        self.validate_as("amount")
    }

    /// The amount of the body field `name` (errors name `<name>.value`, `<name>.currency`).
    pub(crate) fn validate_as(self, name: &str) -> Result<Amount, FieldError> {
        let value_field = format!("{name}.value");
        let value = Amount::parse(&self.value.required(&value_field)?)
            .map_err(|e| e.with_field(value_field))?;
        let currency_field = format!("{name}.currency");
        if self.currency.required(&currency_field)? != "IDR" {
            return Err(FieldError::invalid(currency_field));
        }
        Ok(value)
    }
}

impl GenerateBody {
    /// The validated request; `now` is the server's time, which `validityPeriod` must follow.
    fn validate(self, now: OffsetDateTime) -> Result<GenerateRequest, FieldError> {
        const VALIDITY: &str = "validityPeriod";
        let partner_reference_no =
            PartnerReferenceNo::parse(&self.partner_reference_no.required("partnerReferenceNo")?)?;
        let merchant_id = MerchantId::parse(&self.merchant_id.required("merchantId")?)?;
        let amount = self
            .amount
            .optional("amount")?
            .map(AmountBody::validate)
            .transpose()?;
        let terminal_id = self
            .terminal_id
            .optional_text("terminalId")?
            .map(|text| TerminalId::parse(&text))
            .transpose()?;
        let validity_period = match self.validity_period.optional(VALIDITY)? {
            None => None,
            // A static QR never expires, so a validity on one is a contradiction (CONTRACT §4.4).
            Some(_) if amount.is_none() => return Err(FieldError::invalid(VALIDITY)),
            Some(text) => {
                let until = XTimestamp::parse(&text)
                    .map_err(|_| FieldError::invalid(VALIDITY))?
                    .instant();
                if until <= now {
                    return Err(FieldError::invalid(VALIDITY));
                }
                Some(until)
            }
        };
        // `additionalInfo` of another type, or `qrImage` absent or null, asks for no image.
        let qr_image = match self.additional_info {
            Field::Given(info) => info
                .qr_image
                .optional("additionalInfo.qrImage")?
                .unwrap_or(false),
            _ => false,
        };
        Ok(GenerateRequest {
            partner_reference_no,
            merchant_id,
            amount,
            terminal_id,
            validity_period,
            qr_image,
        })
    }
}

fn parse_body(body: &[u8], now: OffsetDateTime) -> Result<GenerateRequest, ApiError> {
    Ok(from_body::<GenerateBody>(body)?.validate(now)?)
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
    /// How to draw the QR again under another id.
    drawing: Drawing,
}

/// What the payload (and image) of a QR are drawn from, but for its `id_qr`.
struct Drawing {
    profile: MerchantProfile,
    initiation: Initiation,
    terminal: Option<String>,
    with_image: bool,
}

impl Drawing {
    /// The payload carrying `id_qr` as its bill number, and its image when asked for.
    fn draw(&self, id_qr: i64) -> Result<(String, Option<Vec<u8>>), ApiError> {
        let qr_content = snapqris_qris::build(
            &self.profile,
            &self.initiation,
            &id_qr.to_string(),
            self.terminal.as_deref(),
        )
        .map_err(|e| ApiError::internal("building the payload", e))?;
        // Drawn before storing, so a drawing failure leaves nothing behind.
        let qr_image = self
            .with_image
            .then(|| snapqris_qrimage::render_png(&qr_content, QR_IMAGE_SCALE))
            .transpose()
            .map_err(|e| ApiError::internal("drawing the QR image", e))?;
        Ok((qr_content, qr_image))
    }
}

/// How many fresh ids a QR whose `id_qr` clashed is tried under (node leases make a clash
/// all but impossible; the `id_qr` key stands behind them).
const ID_RETRIES: usize = 3;

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
        state: &AppState,
        request: &SnapRequest,
        mut prepared: Prepared,
        mut done: Result<(), StoreError>,
    ) -> Result<Response, ApiError> {
        for _ in 0..ID_RETRIES {
            if !matches!(done, Err(StoreError::Conflict(Constraint::QrId))) {
                break;
            }
            // CONTRACT §8: a clash is retried under a fresh id, not answered 500. The claim
            // has committed already: the QR alone is stored this time.
            let store = &state.inner.store;
            let id_qr = store.next_qr_id(request.received_at)?;
            tracing::warn!(clashed = prepared.qr.id_qr, id_qr, "id_qr taken; retrying");
            let (qr_content, qr_image) = prepared.drawing.draw(id_qr)?;
            prepared.qr.id_qr = id_qr;
            prepared.qr.qr_content = qr_content;
            prepared.qr_image = qr_image;
            done = store.insert_qr(&prepared.qr).await;
        }
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
    let drawing = Drawing {
        profile: merchant_profile(state, &merchant)?,
        initiation,
        terminal: body.terminal_id.as_ref().map(|t| t.as_str().to_owned()),
        with_image: body.qr_image,
    };
    let (qr_content, qr_image) = drawing.draw(id_qr)?;
    Ok(Prepared {
        qr: NewQr {
            id_qr,
            merchant_id: body.merchant_id,
            client_id: caller.client_id.clone(),
            partner_reference_no: body.partner_reference_no.as_str().to_owned(),
            kind,
            amount_sen: body.amount.map(Amount::sen),
            terminal_id: drawing.terminal.clone(),
            generated_at: now,
            expires_at,
            qr_content,
        },
        merchant_name: merchant.name.clone(),
        qr_image,
        drawing,
    })
}

/// The `2004700` answer after its status.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GenerateAnswer {
    /// The QR's `id_qr`.
    reference_no: String,
    /// As sent.
    partner_reference_no: String,
    /// The QRIS payload.
    qr_content: String,
    /// The merchant's name in the payload.
    merchant_name: String,
    /// As sent; `null` when none was.
    #[schema(required = true)]
    terminal_id: Option<String>,
    /// The QR's type and expiry.
    additional_info: GenerateAnswerInfo,
    /// The QR as a Base64 PNG, when `additionalInfo.qrImage` asked for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(content_encoding = "base64", content_media_type = "image/png")]
    qr_image: Option<String>,
}

/// `additionalInfo` of a generate answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GenerateAnswerInfo {
    /// `static` or `dynamic`.
    #[serde(rename = "type")]
    kind: QrType,
    /// When a dynamic QR expires, RFC 3339 in +07:00; `null` for a static one.
    #[schema(required = true)]
    expired_time: Option<String>,
}

impl From<Prepared> for GenerateAnswer {
    fn from(prepared: Prepared) -> Self {
        let qr = prepared.qr;
        GenerateAnswer {
            reference_no: qr.id_qr.to_string(),
            partner_reference_no: qr.partner_reference_no,
            qr_content: qr.qr_content,
            merchant_name: prepared.merchant_name,
            terminal_id: qr.terminal_id,
            additional_info: GenerateAnswerInfo {
                kind: qr.kind.into(),
                expired_time: qr.expires_at.map(format_rfc3339_jakarta),
            },
            qr_image: prepared.qr_image.map(|png| STANDARD.encode(png)),
        }
    }
}

/// The `2004700` answer for a stored QR.
fn answer(prepared: Prepared) -> Response {
    success(SERVICE, GenerateAnswer::from(prepared))
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
    fn each_field_is_missing_when_absent_null_or_empty_and_invalid_of_another_type() {
        let fields = [
            ("partnerReferenceNo", r#""R1""#, true),
            ("merchantId", r#""M1""#, true),
            ("amount", r#"{"value":"1.00","currency":"IDR"}"#, false),
            ("terminalId", r#""T1""#, false),
        ];
        for (name, _, mandatory) in fields {
            let others: Vec<String> = fields
                .iter()
                .filter(|(other, _, _)| *other != name)
                .map(|(other, value, _)| format!(r#""{other}":{value}"#))
                .collect();
            let body = |value: Option<&str>| match value {
                None => format!("{{{}}}", others.join(",")),
                Some(value) => format!(r#"{{{},"{name}":{value}}}"#, others.join(",")),
            };
            for absent in [None, Some("null")] {
                let parsed = parse_body(body(absent).as_bytes(), NOW);
                if mandatory {
                    assert_eq!(
                        message(&body(absent)),
                        format!("Invalid Mandatory Field {name}")
                    );
                } else {
                    assert!(parsed.is_ok(), "{name} {absent:?}");
                }
            }
            for wrong in ["7", "true", "[]"] {
                assert_eq!(
                    message(&body(Some(wrong))),
                    format!("Invalid Field Format {name}"),
                    "{name} {wrong}"
                );
            }
        }
    }

    #[test]
    fn an_amount_field_of_the_wrong_type_is_named_with_its_path() {
        let base = r#""partnerReferenceNo":"R1","merchantId":"M1""#;
        assert_eq!(
            message(&format!(
                r#"{{{base},"amount":{{"value":9000,"currency":"IDR"}}}}"#
            )),
            "Invalid Field Format amount.value"
        );
        assert_eq!(
            message(&format!(r#"{{{base},"amount":{{"value":"1.00"}}}}"#)),
            "Invalid Mandatory Field amount.currency"
        );
        assert_eq!(
            message(&format!(
                r#"{{{base},"amount":{{"value":"1.00","currency":null}}}}"#
            )),
            "Invalid Mandatory Field amount.currency"
        );
    }

    #[test]
    fn the_qr_image_flag_is_a_boolean_inside_additional_info_or_nothing() {
        let base = r#""partnerReferenceNo":"R1","merchantId":"M1""#;
        let flag = |info: &str| {
            parse_body(
                format!(r#"{{{base},"additionalInfo":{info}}}"#).as_bytes(),
                NOW,
            )
            .map(|request| request.qr_image)
            .map_err(|e| e.response_code(SERVICE).1)
        };
        assert_eq!(flag(r#"{"qrImage":true}"#), Ok(true));
        assert_eq!(flag(r#"{"qrImage":null}"#), Ok(false));
        assert_eq!(flag(r#"{}"#), Ok(false));
        assert_eq!(flag(r#""yes""#), Ok(false));
        assert_eq!(flag(r#"[{"qrImage":true}]"#), Ok(false));
        assert_eq!(
            flag(r#"{"qrImage":"true"}"#),
            Err("Invalid Field Format additionalInfo.qrImage".to_owned())
        );
    }

    #[test]
    fn an_empty_terminal_counts_as_none() {
        let body = br#"{"partnerReferenceNo":"R1","merchantId":"M1","terminalId":""}"#;
        assert!(parse_body(body, NOW).unwrap().terminal_id.is_none());
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
