//! Per-partner request rate limit (CONTRACT §3 `rate-limit`; off unless configured).
//!
//! A token bucket per partner (governor's GCRA), charged only once a request has proved to be
//! that partner's: after its token and signature verify (CONTRACT §4.2, §8). So nobody who
//! cannot sign as a partner can spend its quota, and the table never holds more than one bucket
//! per registered partner: unknown or invalid client ids never reach it.

use crate::error::ApiError;
use crate::state::AppState;
use governor::{Quota, RateLimiter};
use snapqris_protocol::ClientId;
use std::num::NonZeroU32;

type KeyedLimiter = RateLimiter<
    ClientId,
    governor::state::keyed::HashMapStateStore<ClientId>,
    governor::clock::DefaultClock,
>;

/// The limiter, absent when the limit is 0.
pub(crate) struct PartnerRateLimit {
    limiter: Option<KeyedLimiter>,
}

impl PartnerRateLimit {
    /// `per_second` requests per second per partner, with a burst of the same size.
    pub(crate) fn new(per_second: u32) -> Self {
        PartnerRateLimit {
            limiter: NonZeroU32::new(per_second)
                .map(|rate| RateLimiter::hashmap(Quota::per_second(rate))),
        }
    }
}

/// Charges one request to `client_id`, a partner whose token and signature verified; refuses
/// it with `429xx00` when the partner is over its limit.
pub(crate) fn check(state: &AppState, client_id: &ClientId) -> Result<(), ApiError> {
    match &state.inner.rate_limit.limiter {
        None => Ok(()),
        Some(limiter) => limiter
            .check_key(client_id)
            .map_err(|_| ApiError::TooManyRequests),
    }
}
