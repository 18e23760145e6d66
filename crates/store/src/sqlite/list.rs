//! Generate List on SQLite: keyset pages of one merchant-day.

use super::readers::Readers;
use super::statements::read_all;
use crate::StoreError;
use crate::model::{QrKind, QrSummary};
use crate::queries as q;
use crate::rows::{from_ms, from_ms_opt, to_ms};
use crate::store::QrStream;
use rusqlite::{Connection, params};
use snapqris_protocol::JakartaDate;
use std::sync::Arc;

/// One page of a merchant-day, after the item `after` (`generated_at` ms, `id_qr`) if given.
fn list_page(
    connection: &Connection,
    merchant_id: &str,
    day: &str,
    after: Option<(i64, i64)>,
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

/// Which merchant-day a list reads, and the connections later pages come from.
pub(crate) struct ListQuery {
    readers: Arc<Readers>,
    merchant_id: String,
    day: String,
}

impl ListQuery {
    pub(crate) fn new(
        readers: &Arc<Readers>,
        merchant_id: &str,
        day: JakartaDate,
    ) -> Arc<ListQuery> {
        Arc::new(ListQuery {
            readers: readers.clone(),
            merchant_id: merchant_id.to_owned(),
            day: day.to_string(),
        })
    }

    /// The first page, read on `connection` (the writer's, inside the claim's transaction).
    pub(crate) fn first_page(&self, connection: &Connection) -> Result<Vec<QrSummary>, StoreError> {
        list_page(connection, &self.merchant_id, &self.day, None)
    }
}

/// What a list stream does next.
pub(crate) enum ListStep {
    /// Read the page after this item (`generated_at` ms, `id_qr`), or the first page.
    Read(Option<(i64, i64)>),
    /// Hand out a page read already.
    Have(Vec<QrSummary>),
    /// The last page went out.
    Done,
}

/// Keyset pages read in place: each page is one short, bounded read, so however many rows the
/// day holds, at most one page sits in memory while the client reads.
pub(crate) fn list_stream(query: Arc<ListQuery>, first: ListStep) -> QrStream {
    let pages = futures_util::stream::unfold(first, move |step| {
        let query = query.clone();
        async move {
            let page = match step {
                ListStep::Done => return None,
                ListStep::Have(page) => Ok(page),
                ListStep::Read(after) => query
                    .readers
                    .with(|c| list_page(c, &query.merchant_id, &query.day, after)),
            };
            let (items, next) = match page {
                Ok(items) => {
                    let next = match items.last() {
                        Some(last) if items.len() == q::LIST_PAGE => {
                            ListStep::Read(Some((to_ms(last.generated_at), last.id_qr)))
                        }
                        _ => ListStep::Done,
                    };
                    (items.into_iter().map(Ok).collect::<Vec<_>>(), next)
                }
                Err(e) => (vec![Err(e)], ListStep::Done),
            };
            Some((futures_util::stream::iter(items), next))
        }
    });
    Box::pin(futures_util::StreamExt::flatten(pages))
}
