//! One module per SNAP service, plus what they share.

pub(crate) mod expire;
pub(crate) mod generate;
pub(crate) mod generate_list;
pub(crate) mod operations;
pub(crate) mod query;
pub(crate) mod token;

use crate::error::ApiError;
use crate::snap::Caller;
use crate::state::AppState;
use snapqris_store::Merchant;
use std::sync::Arc;

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

/// An `id_qr` as the partner wrote it: 1 to 19 decimal digits that fit the id range.
pub(crate) fn parse_id_qr(text: &str, field: &str) -> Result<i64, ApiError> {
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::InvalidField(field.to_owned()));
    }
    text.parse()
        .map_err(|_| ApiError::InvalidField(field.to_owned()))
}

/// `additionalInfo.merchantId` (services 90 and 93 carry the merchant there).
pub(crate) fn additional_info_merchant_id(
    object: &serde_json::Map<String, serde_json::Value>,
) -> Result<snapqris_protocol::MerchantId, ApiError> {
    use serde_json::Value;
    const FIELD: &str = "additionalInfo.merchantId";
    let info = match object.get("additionalInfo") {
        None | Some(Value::Null) => return Err(ApiError::MissingField(FIELD.into())),
        Some(Value::Object(info)) => info,
        Some(_) => return Err(ApiError::InvalidField("additionalInfo".into())),
    };
    snapqris_protocol::MerchantId::parse(crate::snap::required_str(info, "merchantId", FIELD)?)
        .map_err(|e| e.with_field(FIELD).into())
}
