//! Background retention: claims of `X-EXTERNAL-ID`s older than two Jakarta days are deleted.
//!
//! A claim only matters on its own day (CONTRACT §4.2); two days of margin keep every claim
//! that a request near midnight, or a node with a slightly skewed clock, could still collide
//! with.

use crate::error::Chain;
use crate::state::AppState;
use snapqris_protocol::JakartaDate;
use std::time::Duration;

/// How many days of claims are kept before today's.
const KEPT_DAYS: i64 = 2;

/// How often the purge runs.
const INTERVAL: Duration = Duration::from_secs(3600);

/// The first Jakarta day whose claims are kept on `today`.
pub(crate) fn oldest_kept_day(today: JakartaDate) -> JakartaDate {
    JakartaDate::from_date(today.date() - time::Duration::days(KEPT_DAYS))
}

/// Purges once now, then every [`INTERVAL`]; runs until aborted.
pub(crate) async fn run(state: AppState) {
    let mut ticks = tokio::time::interval(INTERVAL);
    loop {
        ticks.tick().await;
        let today = JakartaDate::of_instant(state.inner.clock.now());
        match state
            .inner
            .store
            .purge_external_ids(oldest_kept_day(today))
            .await
        {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "purged old X-EXTERNAL-ID claims"),
            Err(error) => {
                tracing::warn!(error = %Chain(&error), "purging old X-EXTERNAL-ID claims failed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn claims_of_the_two_days_before_today_are_kept() {
        let today = JakartaDate::from_date(date!(2026 - 03 - 01));
        assert_eq!(oldest_kept_day(today).date(), date!(2026 - 02 - 27));
    }
}
