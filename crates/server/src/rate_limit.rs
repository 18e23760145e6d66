//! Per-partner request rate limit (CONTRACT §3 `rate-limit`; off unless configured).
//!
//! A token bucket per known partner (governor's GCRA). Only registered partners get a bucket,
//! so requests naming random client ids cannot grow the table; they fail authentication anyway.

use crate::error::ApiError;
use crate::state::AppState;
use governor::{Quota, RateLimiter};
use std::num::NonZeroU32;

type KeyedLimiter = RateLimiter<
    String,
    governor::state::keyed::HashMapStateStore<String>,
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

/// Refuses the request with `429xx00` when the partner named by `client_id` is over its limit.
pub(crate) async fn check(state: &AppState, client_id: Option<&str>) -> Result<(), ApiError> {
    let Some(limiter) = &state.inner.rate_limit.limiter else {
        return Ok(());
    };
    let Some(client_id) = client_id else {
        return Ok(());
    };
    if state.inner.directory.partner(client_id).await?.is_none() {
        return Ok(());
    }
    limiter
        .check_key(&client_id.to_owned())
        .map_err(|_| ApiError::TooManyRequests)
}
