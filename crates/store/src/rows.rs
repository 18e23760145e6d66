//! Converting between rows and records: Unix milliseconds, service lists, enums.
//!
//! Both schemas name their columns alike; the column types differ (SQLite keeps flags as 0/1
//! integers, PostgreSQL as `BOOLEAN`), and each driver's [`Columns`] reads its own.

use crate::model::{
    Blacklisting, Merchant, Partner, PayerDetails, Payment, QrCode, QrKind, Refund, SignatureMode,
};
use crate::{Entity, StoreError};
use snapqris_protocol::ServiceCode;
use sqlx::Row;
use sqlx::postgres::PgRow;
use time::OffsetDateTime;

/// Reading typed columns by name, whichever driver produced the row.
pub(crate) trait Columns {
    /// A non-null flag column.
    fn flag(&self, column: &str) -> Result<bool, StoreError>;
    /// A non-null integer column.
    fn int(&self, column: &str) -> Result<i64, StoreError>;
    /// A nullable integer column.
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError>;
    /// A non-null text column.
    fn text(&self, column: &str) -> Result<String, StoreError>;
    /// A nullable text column.
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError>;
}

impl Columns for PgRow {
    fn flag(&self, column: &str) -> Result<bool, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn int(&self, column: &str) -> Result<i64, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn text(&self, column: &str) -> Result<String, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        Ok(self.try_get(column)?)
    }
}

impl Columns for rusqlite::Row<'_> {
    fn flag(&self, column: &str) -> Result<bool, StoreError> {
        Ok(self.get::<_, i64>(column)? != 0)
    }
    fn int(&self, column: &str) -> Result<i64, StoreError> {
        Ok(self.get(column)?)
    }
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.get(column)?)
    }
    fn text(&self, column: &str) -> Result<String, StoreError> {
        Ok(self.get(column)?)
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        Ok(self.get(column)?)
    }
}

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

pub(crate) fn partner_from_row(row: &impl Columns) -> Result<Partner, StoreError> {
    let mode = row.text("signature_mode")?;
    let services = row.text("services")?;
    Ok(Partner {
        client_id: row.text("client_id")?,
        public_key_pem: row.text("public_key_pem")?,
        client_secret: row.text("client_secret")?,
        signature_mode: SignatureMode::parse(&mode)
            .ok_or_else(|| StoreError::Corrupt(format!("signature mode {mode:?}")))?,
        services: services_from_text(&services)?,
        enabled: row.flag("enabled")?,
        callback_url: row.opt_text("callback_url")?,
        created_at: from_ms(row.int("created_at")?)?,
    })
}

pub(crate) fn merchant_from_row(row: &impl Columns) -> Result<Merchant, StoreError> {
    let blacklisted = row.flag("blacklisted")?;
    let blacklisted = if blacklisted {
        Some(Blacklisting {
            reason: row.opt_text("blacklist_reason")?,
            since: from_ms(row.opt_int("blacklisted_at")?.unwrap_or(0))?,
        })
    } else {
        None
    };
    Ok(Merchant {
        merchant_id: row.text("merchant_id")?,
        client_id: row.text("client_id")?,
        name: row.text("name")?,
        city: row.text("city")?,
        mcc: row.text("mcc")?,
        postal_code: row.text("postal_code")?,
        nmid: row.text("nmid")?,
        criteria: row.text("criteria")?,
        pan_account: pan_account_from_row(row)?,
        blacklisted,
        created_at: from_ms(row.int("created_at")?)?,
    })
}

/// A merchant's PAN account number; every row has one once the store has opened (`pan.rs`).
fn pan_account_from_row(row: &impl Columns) -> Result<u32, StoreError> {
    let account = row.opt_int("pan_account")?;
    account
        .and_then(|account| u32::try_from(account).ok())
        .filter(|account| *account < snapqris_qris::PAN_ACCOUNTS)
        .ok_or_else(|| StoreError::Corrupt(format!("merchant PAN account number {account:?}")))
}

pub(crate) fn kind_from_row(row: &impl Columns) -> Result<QrKind, StoreError> {
    let kind = row.text("kind")?;
    QrKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("QR kind {kind:?}")))
}

pub(crate) fn qr_from_row(row: &impl Columns) -> Result<QrCode, StoreError> {
    Ok(QrCode {
        id_qr: row.int("id_qr")?,
        merchant_id: row.text("merchant_id")?,
        client_id: row.text("client_id")?,
        partner_reference_no: row.text("partner_reference_no")?,
        kind: kind_from_row(row)?,
        amount_sen: row.opt_int("amount_sen")?,
        terminal_id: row.opt_text("terminal_id")?,
        generated_at: from_ms(row.int("generated_at")?)?,
        expires_at: from_ms_opt(row.opt_int("expires_at")?)?,
        cancelled_at: from_ms_opt(row.opt_int("cancelled_at")?)?,
        cancel_reason: row.opt_text("cancel_reason")?,
        qr_content: row.text("qr_content")?,
        paid_at: from_ms_opt(row.opt_int("paid_at")?)?,
        paid_amount_sen: row.opt_int("paid_amount_sen")?,
        payment_count: row.int("payment_count")?,
        latest_payment_id: row.opt_int("latest_payment_id")?,
        latest_refunded_sen: row.opt_int("latest_refunded_sen")?,
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

/// A payment joined with its QR's `merchant_id`.
pub(crate) fn payment_from_row(row: &impl Columns) -> Result<Payment, StoreError> {
    Ok(Payment {
        payment_id: row.int("payment_id")?,
        id_qr: row.int("id_qr")?,
        merchant_id: row.text("merchant_id")?,
        payer_client_id: row.text("payer_client_id")?,
        partner_reference_no: row.text("partner_reference_no")?,
        amount_sen: row.int("amount_sen")?,
        paid_at: from_ms(row.int("paid_at")?)?,
        details: PayerDetails {
            issuer_name: row.opt_text("issuer_name")?,
            customer_name: row.opt_text("customer_name")?,
            rrn: row.opt_text("rrn")?,
        },
    })
}

/// A refund joined with its QR's `partner_reference_no` (as `qr_partner_reference_no`) and
/// `merchant_id`.
pub(crate) fn refund_from_row(row: &impl Columns) -> Result<Refund, StoreError> {
    Ok(Refund {
        refund_no: row.int("refund_no")?,
        payment_id: row.int("payment_id")?,
        id_qr: row.int("id_qr")?,
        qr_partner_reference_no: row.text("qr_partner_reference_no")?,
        merchant_id: row.text("merchant_id")?,
        client_id: row.text("client_id")?,
        partner_refund_no: row.text("partner_refund_no")?,
        amount_sen: row.int("amount_sen")?,
        reason: row.opt_text("reason")?,
        refunded_at: from_ms(row.int("refunded_at")?)?,
    })
}
