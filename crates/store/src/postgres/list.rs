//! Generate List on PostgreSQL: the pages of one merchant-day, a pool connection per page.

use super::sql as q;
use crate::StoreError;
use crate::list::{ListPosition, PageSource};
use crate::model::{QrKind, QrSummary};
use crate::rows::{from_ms, from_ms_opt};
use futures_util::future::BoxFuture;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use time::Date;

/// One merchant-day, and the pool its pages come from.
pub(crate) struct PostgresDay {
    pub(crate) pool: PgPool,
    pub(crate) merchant_id: String,
    pub(crate) day: Date,
}

impl PageSource for PostgresDay {
    fn page(
        &self,
        after: Option<ListPosition>,
    ) -> BoxFuture<'_, Result<Vec<QrSummary>, StoreError>> {
        Box::pin(async move {
            let query = match after {
                None => sqlx::query(q::QR_LIST_DAY_FIRST)
                    .bind(&self.merchant_id)
                    .bind(self.day),
                Some((generated_ms, id_qr)) => sqlx::query(q::QR_LIST_DAY_AFTER)
                    .bind(&self.merchant_id)
                    .bind(self.day)
                    .bind(generated_ms)
                    .bind(id_qr),
            };
            // `fetch_all` on the pool: the connection goes back as soon as the page is read.
            let rows = query.fetch_all(&self.pool).await?;
            rows.iter()
                .map(|row| summary_from_list_row(row, 0))
                .collect()
        })
    }
}

/// A list item from the columns `id_qr, kind, generated_at, expires_at, amount_sen` starting
/// at position `first`.
pub(crate) fn summary_from_list_row(row: &PgRow, first: usize) -> Result<QrSummary, StoreError> {
    let kind: &str = row.try_get(first + 1)?;
    Ok(QrSummary {
        id_qr: row.try_get(first)?,
        kind: QrKind::parse(kind)
            .ok_or_else(|| StoreError::Corrupt(format!("QR kind {kind:?}")))?,
        generated_at: from_ms(row.try_get(first + 2)?)?,
        expires_at: from_ms_opt(row.try_get(first + 3)?)?,
        amount_sen: row.try_get(first + 4)?,
    })
}
