//! Generate List on SQLite: the pages of one merchant-day, read in place on the readers.

use super::readers::Readers;
use super::sql as q;
use super::statements::read_all;
use crate::StoreError;
use crate::list::{ListPosition, PageSource};
use crate::model::{QrKind, QrSummary};
use crate::rows::{from_ms, from_ms_opt};
use futures_util::future::BoxFuture;
use rusqlite::{Connection, params};
use std::sync::Arc;

/// One merchant-day, and the connections its pages come from.
pub(crate) struct SqliteDay {
    pub(crate) readers: Arc<Readers>,
    pub(crate) merchant_id: String,
    pub(crate) day: String,
}

impl SqliteDay {
    /// One page of a merchant-day on `connection`, after the item `after` if given.
    pub(crate) fn read_page(
        connection: &Connection,
        merchant_id: &str,
        day: &str,
        after: Option<ListPosition>,
    ) -> Result<Vec<QrSummary>, StoreError> {
        match after {
            None => read_all(
                connection,
                q::QR_LIST_DAY_FIRST,
                params![merchant_id, day],
                summary_from_list_row,
            ),
            Some((generated_ms, id_qr)) => read_all(
                connection,
                q::QR_LIST_DAY_AFTER,
                params![merchant_id, day, generated_ms, id_qr],
                summary_from_list_row,
            ),
        }
    }
}

impl PageSource for SqliteDay {
    fn page(
        &self,
        after: Option<ListPosition>,
    ) -> BoxFuture<'_, Result<Vec<QrSummary>, StoreError>> {
        // A page is a short, bounded read: done in place rather than handed to another thread.
        let page = self
            .readers
            .with(|c| SqliteDay::read_page(c, &self.merchant_id, &self.day, after));
        Box::pin(std::future::ready(page))
    }
}

/// A list item from a `QR_LIST_DAY_*` row, by column position (`id_qr, kind, generated_at,
/// expires_at, amount_sen`): looking columns up by name compared names for every value, a sixth
/// of the writer thread's time in a list run.
fn summary_from_list_row(row: &rusqlite::Row<'_>) -> Result<QrSummary, StoreError> {
    let kind = row.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
    Ok(QrSummary {
        id_qr: row.get(0)?,
        kind: QrKind::parse(kind)
            .ok_or_else(|| StoreError::Corrupt(format!("QR kind {kind:?}")))?,
        generated_at: from_ms(row.get(2)?)?,
        expires_at: from_ms_opt(row.get(3)?)?,
        amount_sen: row.get(4)?,
    })
}
