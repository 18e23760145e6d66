//! Per-partner request rate limit (CONTRACT §3 `rate-limit`; off unless configured).
//!
//! A token bucket per partner (governor's GCRA), charged only once a request has proved to be
//! that partner's: after its token and signature verify (CONTRACT §4.2, §8). So nobody who
//! cannot sign as a partner can spend its quota, and the table never holds more than one bucket
//! per registered partner: unknown or invalid client ids never reach it.

use crate::clock::Clock;
use crate::error::ApiError;
use crate::state::AppState;
use governor::{Quota, RateLimiter};
use snapqris_protocol::ClientId;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

type KeyedLimiter = RateLimiter<
    ClientId,
    governor::state::keyed::HashMapStateStore<ClientId>,
    ServerClock,
    governor::middleware::NoOpMiddleware<Duration>,
>;

/// The server's injected [`Clock`] as governor reads time: since the Unix epoch, so a test's
/// `ManualClock` refills the buckets when it moves (instants before 1970 count as 1970).
struct ServerClock(Arc<dyn Clock>);

impl governor::clock::Clock for ServerClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        (self.0.now() - OffsetDateTime::UNIX_EPOCH)
            .try_into()
            .unwrap_or(Duration::ZERO)
    }
}

/// The limiter, absent when the limit is 0.
pub(crate) struct PartnerRateLimit {
    limiter: Option<KeyedLimiter>,
}

impl PartnerRateLimit {
    /// `per_second` requests per second per partner by `clock`, with a burst of the same size.
    pub(crate) fn new(per_second: u32, clock: Arc<dyn Clock>) -> Self {
        PartnerRateLimit {
            limiter: NonZeroU32::new(per_second).map(|rate| {
                RateLimiter::hashmap_with_clock(Quota::per_second(rate), ServerClock(clock))
            }),
        }
    }

    /// Charges one request to `client_id`; `429xx00` when it is over its limit.
    fn charge(&self, client_id: &ClientId) -> Result<(), ApiError> {
        match &self.limiter {
            None => Ok(()),
            Some(limiter) => limiter
                .check_key(client_id)
                .map_err(|_| ApiError::TooManyRequests),
        }
    }
}

/// Charges one request to `client_id`, a partner whose token and signature verified; refuses
/// it with `429xx00` when the partner is over its limit.
pub(crate) fn check(state: &AppState, client_id: &ClientId) -> Result<(), ApiError> {
    state.inner.rate_limit.charge(client_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use time::macros::datetime;

    #[test]
    fn a_partner_over_its_limit_is_served_again_once_the_clock_moves_a_second() {
        let start = datetime!(2026-11-25 08:00 UTC);
        let clock = Arc::new(ManualClock::new(start));
        let limit = PartnerRateLimit::new(2, clock.clone());
        let partner = ClientId::parse("partner-a").unwrap();
        let other = ClientId::parse("partner-b").unwrap();
        assert!(limit.charge(&partner).is_ok());
        assert!(limit.charge(&partner).is_ok());
        assert!(matches!(
            limit.charge(&partner),
            Err(ApiError::TooManyRequests)
        ));
        assert!(limit.charge(&other).is_ok(), "buckets are per partner");
        clock.set(start + time::Duration::milliseconds(999));
        assert!(
            limit.charge(&partner).is_ok(),
            "each half second gives one request back"
        );
        assert!(limit.charge(&partner).is_err());
        clock.set(start + time::Duration::seconds(2));
        assert!(limit.charge(&partner).is_ok());
        assert!(limit.charge(&partner).is_ok());
    }

    #[test]
    fn a_limit_of_zero_is_off() {
        let clock = Arc::new(ManualClock::new(datetime!(2026-11-25 08:00 UTC)));
        let limit = PartnerRateLimit::new(0, clock);
        let partner = ClientId::parse("partner-a").unwrap();
        assert!((0..1_000).all(|_| limit.charge(&partner).is_ok()));
    }
}
