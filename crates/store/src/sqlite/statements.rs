//! The statements the SQLite store runs on a connection it holds: reads shared by the readers
//! and the writer, and the writes of the hot path.

use super::sql as q;
use crate::error::{SqliteConstraintKind, sqlite_constraint};
use crate::model::NewQr;
use crate::rows::to_ms;
use crate::{Constraint, Entity, StoreError};
use rusqlite::{Connection, params};
use snapqris_protocol::JakartaDate;

/// The one row `sql` selects, decoded by `decode`, or `None`.
pub(crate) fn read_optional<T>(
    connection: &Connection,
    sql: &str,
    key: impl rusqlite::Params,
    decode: impl Fn(&rusqlite::Row<'_>) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut statement = connection.prepare_cached(sql)?;
    let mut rows = statement.query(key)?;
    rows.next()?.map(decode).transpose()
}

/// Every row `sql` selects, decoded by `decode`.
pub(crate) fn read_all<T>(
    connection: &Connection,
    sql: &str,
    key: impl rusqlite::Params,
    decode: impl Fn(&rusqlite::Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut statement = connection.prepare_cached(sql)?;
    let mut rows = statement.query(key)?;
    let mut items = Vec::new();
    while let Some(row) = rows.next()? {
        items.push(decode(row)?);
    }
    Ok(items)
}

/// Maps a refused write to the constraint it broke, by SQLite's message.
pub(crate) fn constraint_error(
    error: rusqlite::Error,
    unique: impl Fn(&str) -> Option<Constraint>,
    missing_parent: Entity,
) -> StoreError {
    match sqlite_constraint(&error) {
        Some(found) if found.kind == SqliteConstraintKind::ForeignKey => {
            StoreError::NotFound(missing_parent)
        }
        Some(found) => match unique(&found.message) {
            Some(constraint) => StoreError::Conflict(constraint),
            None => error.into(),
        },
        None => error.into(),
    }
}

/// Stores `qr` on the write connection.
pub(crate) fn insert_qr(c: &Connection, qr: &NewQr) -> Result<(), StoreError> {
    let values = params![
        qr.id_qr,
        qr.merchant_id.as_str(),
        qr.client_id.as_str(),
        qr.partner_reference_no,
        qr.kind.as_str(),
        qr.amount_sen,
        qr.terminal_id,
        to_ms(qr.generated_at),
        JakartaDate::of_instant(qr.generated_at).to_string(),
        qr.expires_at.map(to_ms),
        qr.qr_content,
    ];
    let reference = |message: &str| {
        if message.contains("partner_reference_no") {
            Some(Constraint::PartnerReferenceNo)
        } else if message.contains("qr_codes.id_qr") {
            Some(Constraint::QrId)
        } else {
            None
        }
    };
    c.prepare_cached(q::QR_INSERT)?
        .execute(values)
        .map(drop)
        .map_err(|e| constraint_error(e, reference, Entity::Merchant))
}
