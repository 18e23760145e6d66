//! Generate List's stream: keyset pages of one merchant-day, on either backend.
//!
//! Each page is one short, bounded read on a connection taken for that page alone, so however
//! many rows the day holds, at most one page sits in memory while the client reads, and a
//! client that reads slowly holds no database connection (CONTRACT §4.3; a PostgreSQL node
//! would otherwise be starved by a few slow readers of big days).

use crate::StoreError;
use crate::model::QrSummary;
use crate::rows::to_ms;
use crate::store::QrStream;
use futures_util::future::BoxFuture;
use std::sync::Arc;

/// Rows per page of a merchant-day (each backend writes the `LIMIT` out with this value).
pub(crate) const LIST_PAGE: usize = 256;

/// Where the item a page starts after stands: its `generated_at` (Unix ms) and `id_qr`.
pub(crate) type ListPosition = (i64, i64);

/// Reads the pages of one merchant-day.
pub(crate) trait PageSource: Send + Sync + 'static {
    /// The page after `after`, or the first page.
    fn page(
        &self,
        after: Option<ListPosition>,
    ) -> BoxFuture<'_, Result<Vec<QrSummary>, StoreError>>;
}

/// What a list stream does next.
pub(crate) enum ListStep {
    /// Read the page after this item, or the first page.
    Read(Option<ListPosition>),
    /// Hand out a page read already (the first, read in the claim's transaction).
    Have(Vec<QrSummary>),
    /// The last page went out.
    Done,
}

/// The stream of a merchant-day's items from `first` on, page by page.
pub(crate) fn list_stream(source: Arc<dyn PageSource>, first: ListStep) -> QrStream {
    let pages = futures_util::stream::unfold(first, move |step| {
        let source = source.clone();
        async move {
            let page = match step {
                ListStep::Done => return None,
                ListStep::Have(page) => Ok(page),
                ListStep::Read(after) => source.page(after).await,
            };
            let (items, next) = match page {
                Ok(items) => {
                    let next = match items.last() {
                        Some(last) if items.len() == LIST_PAGE => {
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
