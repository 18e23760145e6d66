//! One module per SNAP service, plus what they share.

pub(crate) mod cancel;
pub(crate) mod expire;
pub(crate) mod generate;
pub(crate) mod generate_list;
pub(crate) mod operations;
pub(crate) mod payment;
pub(crate) mod query;
pub(crate) mod refund;
pub(crate) mod token;

use crate::error::ApiError;
use crate::snap::Caller;
use crate::state::AppState;
use crate::wire::{Field, FromJson, nested, schema};
use serde::Deserialize;
use snapqris_protocol::{FieldError, MerchantId, PartnerReferenceNo};
use snapqris_store::{Merchant, QrReference};
use std::sync::Arc;
use utoipa::ToSchema;

/// The caller's own, non-blacklisted merchant (CONTRACT §4.4: unknown or another partner's is
/// one and the same answer, so partners cannot probe each other's merchant ids).
pub(crate) async fn owned_merchant(
    state: &AppState,
    caller: &Caller,
    merchant_id: &str,
) -> Result<Arc<Merchant>, ApiError> {
    let merchant = partner_merchant(state, caller, merchant_id).await?;
    if merchant.blacklisted.is_some() {
        return Err(ApiError::MerchantBlacklisted);
    }
    Ok(merchant)
}

/// The caller's own merchant, blacklisted or not: money may always go back, so refunds and
/// cancels (CONTRACT §6.3, §6.4) serve a blacklisted merchant too. Unknown or another
/// partner's is one and the same answer.
pub(crate) async fn partner_merchant(
    state: &AppState,
    caller: &Caller,
    merchant_id: &str,
) -> Result<Arc<Merchant>, ApiError> {
    state
        .inner
        .directory
        .merchant(merchant_id)
        .await?
        .filter(|merchant| merchant.client_id == caller.partner.partner.client_id)
        .ok_or(ApiError::InvalidMerchant)
}

/// An `id_qr` as a partner writes it, for the API documentation: [`parse_id_qr`]'s syntax.
pub(crate) const ID_QR_PATTERN: &str = "^[0-9]{1,19}$";

/// An `id_qr` as the partner wrote it: 1 to 19 decimal digits that fit the id range.
pub(crate) fn parse_id_qr(text: &str, field: &str) -> Result<i64, FieldError> {
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::invalid(field));
    }
    text.parse().map_err(|_| FieldError::invalid(field))
}

/// The QR that `originalReferenceNo` (its `id_qr`) or `originalPartnerReferenceNo` (its generate
/// reference) names; when both are sent, the QR must have both. Empty or `null` counts as
/// absent; neither is a missing `originalReferenceNo`.
pub(crate) fn original_qr(
    reference: Field<String>,
    partner_reference: Field<String>,
) -> Result<QrReference, FieldError> {
    const REFERENCE: &str = "originalReferenceNo";
    const PARTNER_REFERENCE: &str = "originalPartnerReferenceNo";
    let reference = reference
        .optional_text(REFERENCE)?
        .map(|text| parse_id_qr(&text, REFERENCE))
        .transpose()?;
    let partner_reference = partner_reference
        .optional_text(PARTNER_REFERENCE)?
        .map(|text| {
            PartnerReferenceNo::parse(&text)
                .map(PartnerReferenceNo::into_string)
                .map_err(|e| e.with_field(PARTNER_REFERENCE))
        })
        .transpose()?;
    match (reference, partner_reference) {
        (Some(id_qr), partner_reference_no) => Ok(QrReference::Id {
            id_qr,
            partner_reference_no,
        }),
        (None, Some(partner_reference_no)) => {
            Ok(QrReference::PartnerReference(partner_reference_no))
        }
        (None, None) => Err(FieldError::missing(REFERENCE)),
    }
}

/// An optional text of at most `max` characters and no control characters (PostgreSQL cannot
/// store a NUL, and a reason or a name has no use for any); empty counts as absent.
pub(crate) fn limited_text(
    field: Field<String>,
    name: &str,
    max: usize,
) -> Result<Option<String>, FieldError> {
    match field.optional_text(name)? {
        Some(text) if text.chars().count() > max || text.chars().any(char::is_control) => {
            Err(FieldError::invalid(name))
        }
        text => Ok(text),
    }
}

/// `additionalInfo` of services 90 and 93, which carry the merchant there.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = MerchantInfo)]
pub(crate) struct MerchantInfoBody {
    /// The merchant whose QRs are meant.
    #[schema(schema_with = schema::merchant_id, required = true)]
    #[serde(default)]
    merchant_id: Field<String>,
}

impl FromJson for MerchantInfoBody {
    fn from_json(value: serde_json::Value) -> Option<Self> {
        nested(value)
    }
}

/// `additionalInfo.merchantId`: `additionalInfo` absent or `null` is a missing merchant id,
/// another JSON type an invalid `additionalInfo`.
pub(crate) fn additional_info_merchant_id(
    info: Field<MerchantInfoBody>,
) -> Result<MerchantId, FieldError> {
    const FIELD: &str = "additionalInfo.merchantId";
    let info = info
        .optional("additionalInfo")?
        .ok_or_else(|| FieldError::missing(FIELD))?;
    MerchantId::parse(&info.merchant_id.required(FIELD)?).map_err(|e| e.with_field(FIELD))
}

#[cfg(test)]
mod tests {
    use super::*;
    use snapqris_protocol::FieldErrorKind;

    fn merchant_id(body: &str) -> Result<MerchantId, (FieldErrorKind, String)> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Body {
            #[serde(default)]
            additional_info: Field<MerchantInfoBody>,
        }
        let body: Body = crate::wire::from_body(body.as_bytes()).unwrap();
        additional_info_merchant_id(body.additional_info)
            .map_err(|e| (e.kind(), e.field().to_owned()))
    }

    #[test]
    fn the_merchant_id_in_additional_info_is_missing_absent_null_or_empty() {
        let missing = (
            FieldErrorKind::Missing,
            "additionalInfo.merchantId".to_owned(),
        );
        for body in [
            r#"{}"#,
            r#"{"additionalInfo":null}"#,
            r#"{"additionalInfo":{}}"#,
            r#"{"additionalInfo":{"merchantId":null}}"#,
            r#"{"additionalInfo":{"merchantId":""}}"#,
        ] {
            assert_eq!(merchant_id(body).unwrap_err(), missing, "{body}");
        }
    }

    #[test]
    fn the_merchant_id_in_additional_info_is_invalid_of_another_type_or_format() {
        let invalid = |field: &str| (FieldErrorKind::InvalidFormat, field.to_owned());
        assert_eq!(
            merchant_id(r#"{"additionalInfo":"M1"}"#).unwrap_err(),
            invalid("additionalInfo")
        );
        assert_eq!(
            merchant_id(r#"{"additionalInfo":[{"merchantId":"M1"}]}"#).unwrap_err(),
            invalid("additionalInfo")
        );
        for body in [
            r#"{"additionalInfo":{"merchantId":7}}"#,
            r#"{"additionalInfo":{"merchantId":"M-1"}}"#,
        ] {
            assert_eq!(
                merchant_id(body).unwrap_err(),
                invalid("additionalInfo.merchantId"),
                "{body}"
            );
        }
        assert_eq!(
            merchant_id(r#"{"additionalInfo":{"merchantId":"M1"}}"#)
                .unwrap()
                .as_str(),
            "M1"
        );
    }

    #[test]
    fn an_id_qr_is_one_to_nineteen_digits_that_fit() {
        assert_eq!(parse_id_qr("10092081", "billnumber").unwrap(), 10092081);
        for bad in [
            "",
            "12a",
            "-1",
            " 1",
            "99999999999999999999",
            "9999999999999999999",
        ] {
            let error = parse_id_qr(bad, "billnumber").unwrap_err();
            assert_eq!(error.kind(), FieldErrorKind::InvalidFormat, "{bad}");
        }
    }
}
