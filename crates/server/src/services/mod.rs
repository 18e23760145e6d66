//! One module per SNAP service, plus what they share.

pub(crate) mod expire;
pub(crate) mod generate;
pub(crate) mod generate_list;
pub(crate) mod operations;
pub(crate) mod payment;
pub(crate) mod query;
pub(crate) mod token;

use crate::error::ApiError;
use crate::snap::Caller;
use crate::state::AppState;
use crate::wire::{Field, FromJson, nested, schema};
use serde::Deserialize;
use snapqris_protocol::{FieldError, MerchantId};
use snapqris_store::Merchant;
use std::sync::Arc;
use utoipa::ToSchema;

/// The caller's own, non-blacklisted merchant (CONTRACT §4.4: unknown or another partner's is
/// one and the same answer, so partners cannot probe each other's merchant ids).
pub(crate) async fn owned_merchant(
    state: &AppState,
    caller: &Caller,
    merchant_id: &str,
) -> Result<Arc<Merchant>, ApiError> {
    let merchant = state
        .inner
        .directory
        .merchant(merchant_id)
        .await?
        .filter(|merchant| merchant.client_id == caller.partner.partner.client_id)
        .ok_or(ApiError::InvalidMerchant)?;
    if merchant.blacklisted.is_some() {
        return Err(ApiError::MerchantBlacklisted);
    }
    Ok(merchant)
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
