//! Converting between rows and records: Unix milliseconds, service lists, enums.

use crate::model::{Blacklisting, Merchant, Partner, QrCode, QrKind, QrSummary, SignatureMode};
use crate::{Entity, StoreError};
use snapqris_protocol::ServiceCode;
use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

pub(crate) fn to_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub(crate) fn from_ms(ms: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|_| StoreError::Corrupt(format!("timestamp {ms} out of range")))
}

pub(crate) fn from_ms_opt(ms: Option<i64>) -> Result<Option<OffsetDateTime>, StoreError> {
    ms.map(from_ms).transpose()
}

pub(crate) fn services_to_text(services: &[ServiceCode]) -> String {
    services
        .iter()
        .map(|s| s.code().to_string())
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn services_from_text(text: &str) -> Result<Vec<ServiceCode>, StoreError> {
    text.split(',')
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<u8>()
                .ok()
                .and_then(ServiceCode::from_code)
                .ok_or_else(|| StoreError::Corrupt(format!("service list {text:?}")))
        })
        .collect()
}

pub(crate) fn partner_from_row(row: &AnyRow) -> Result<Partner, StoreError> {
    let mode: String = row.try_get("signature_mode")?;
    let services: String = row.try_get("services")?;
    Ok(Partner {
        client_id: row.try_get("client_id")?,
        public_key_pem: row.try_get("public_key_pem")?,
        client_secret: row.try_get("client_secret")?,
        signature_mode: SignatureMode::parse(&mode)
            .ok_or_else(|| StoreError::Corrupt(format!("signature mode {mode:?}")))?,
        services: services_from_text(&services)?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        created_at: from_ms(row.try_get("created_at")?)?,
    })
}

pub(crate) fn merchant_from_row(row: &AnyRow) -> Result<Merchant, StoreError> {
    let blacklisted = row.try_get::<i64, _>("blacklisted")? != 0;
    let blacklisted = if blacklisted {
        Some(Blacklisting {
            reason: row.try_get("blacklist_reason")?,
            since: from_ms(
                row.try_get::<Option<i64>, _>("blacklisted_at")?
                    .unwrap_or(0),
            )?,
        })
    } else {
        None
    };
    Ok(Merchant {
        merchant_id: row.try_get("merchant_id")?,
        client_id: row.try_get("client_id")?,
        name: row.try_get("name")?,
        city: row.try_get("city")?,
        mcc: row.try_get("mcc")?,
        postal_code: row.try_get("postal_code")?,
        nmid: row.try_get("nmid")?,
        criteria: row.try_get("criteria")?,
        blacklisted,
        created_at: from_ms(row.try_get("created_at")?)?,
    })
}

pub(crate) fn kind_from_row(row: &AnyRow) -> Result<QrKind, StoreError> {
    let kind: String = row.try_get("kind")?;
    QrKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("QR kind {kind:?}")))
}

pub(crate) fn qr_from_row(row: &AnyRow) -> Result<QrCode, StoreError> {
    Ok(QrCode {
        id_qr: row.try_get("id_qr")?,
        merchant_id: row.try_get("merchant_id")?,
        client_id: row.try_get("client_id")?,
        partner_reference_no: row.try_get("partner_reference_no")?,
        kind: kind_from_row(row)?,
        amount_sen: row.try_get("amount_sen")?,
        terminal_id: row.try_get("terminal_id")?,
        generated_at: from_ms(row.try_get("generated_at")?)?,
        expires_at: from_ms_opt(row.try_get("expires_at")?)?,
        cancelled_at: from_ms_opt(row.try_get("cancelled_at")?)?,
        qr_content: row.try_get("qr_content")?,
        paid_at: from_ms_opt(row.try_get("paid_at")?)?,
        paid_amount_sen: row.try_get("paid_amount_sen")?,
        payment_count: row.try_get("payment_count")?,
    })
}

pub(crate) fn summary_from_row(row: &AnyRow) -> Result<QrSummary, StoreError> {
    Ok(QrSummary {
        id_qr: row.try_get("id_qr")?,
        kind: kind_from_row(row)?,
        generated_at: from_ms(row.try_get("generated_at")?)?,
        expires_at: from_ms_opt(row.try_get("expires_at")?)?,
        amount_sen: row.try_get("amount_sen")?,
    })
}

/// Maps "no row changed" to [`StoreError::NotFound`].
pub(crate) fn require_one(rows_affected: u64, entity: Entity) -> Result<(), StoreError> {
    if rows_affected == 0 {
        Err(StoreError::NotFound(entity))
    } else {
        Ok(())
    }
}
