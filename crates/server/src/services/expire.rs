//! Service 93: Expire a dynamic QR by its bill number (CONTRACT §4.4).

use crate::error::ApiError;
use crate::reply::success;
use crate::services::{additional_info_merchant_id, owned_merchant, parse_id_qr};
use crate::snap::{
    Caller, Service, SnapRequest, json_object, require_service, required_str, run_transaction,
};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::Request;
use axum::response::Response;
use serde_json::{Map, Value};
use snapqris_protocol::{MerchantId, ServiceCode, format_rfc3339_jakarta};
use snapqris_store::{ExpireOutcome, ExpireQr, StoreError};

const SERVICE: ServiceCode = ServiceCode::ExpireBillNumber;

/// `POST /v1.0/qr/qr-mpm-expire-billnumber`.
pub(crate) async fn expire_bill(State(state): State<AppState>, request: Request<Body>) -> Response {
    run_transaction::<ExpireBill>(state, request).await
}

fn parse_body(body: &[u8]) -> Result<(i64, MerchantId), ApiError> {
    let object = json_object(body)?;
    let id_qr = parse_id_qr(
        required_str(&object, "billnumber", "billnumber")?,
        "billnumber",
    )?;
    let merchant_id = additional_info_merchant_id(&object)?;
    Ok((id_qr, merchant_id))
}

/// Service 93 in the pipeline: the expiry is a conditional update in the claim's unit of work.
struct ExpireBill;

impl Service for ExpireBill {
    const CODE: ServiceCode = SERVICE;
    type Job = ExpireQr;
    /// The bill number and merchant, for the answer.
    type Plan = (i64, MerchantId);

    async fn prepare(
        state: &AppState,
        request: &SnapRequest,
        caller: &Caller,
    ) -> Result<(ExpireQr, Self::Plan), ApiError> {
        let (id_qr, merchant_id) = parse_body(&request.body)?;
        require_service(caller, SERVICE)?;
        owned_merchant(state, caller, merchant_id.as_str()).await?;
        let job = ExpireQr {
            merchant_id: merchant_id.clone(),
            id_qr,
            at: request.received_at,
        };
        Ok((job, (id_qr, merchant_id)))
    }

    async fn answer(
        _: &AppState,
        request: &SnapRequest,
        (id_qr, merchant_id): Self::Plan,
        done: Result<ExpireOutcome, StoreError>,
    ) -> Result<Response, ApiError> {
        match done? {
            ExpireOutcome::Expired => {}
            ExpireOutcome::NotFound => return Err(ApiError::TransactionNotFound),
            ExpireOutcome::InvalidStatus => return Err(ApiError::InvalidTransactionStatus),
        }
        let mut info = Map::new();
        info.insert("merchantId".into(), merchant_id.as_str().into());
        let mut fields = Map::new();
        fields.insert("billnumber".into(), id_qr.to_string().into());
        fields.insert(
            "expiredTime".into(),
            format_rfc3339_jakarta(request.received_at).into(),
        );
        fields.insert("additionalInfo".into(), Value::Object(info));
        Ok(success(SERVICE, fields))
    }
}
