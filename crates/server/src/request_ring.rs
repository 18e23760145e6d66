//! The last hour of this node's requests, minute by minute, for the console's overview
//! (CONTRACT §7): counts by service and `responseCode` class, and a latency histogram.
//!
//! Fed by the request log (`telemetry.rs`) on every partner API request, so recording is a few
//! relaxed atomic additions into the current minute's slot; only the first request of a new
//! minute takes a lock, to clear the slot it reuses. Figures near a minute's turn may be off by
//! a request or two, which a chart does not show.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Minutes kept.
pub(crate) const MINUTES: usize = 60;
/// The service labels charted, in order; every other path counts as `other`.
pub(crate) const SERVICES: [&str; 7] = ["73", "47", "50", "90", "51", "93", "other"];
/// The `responseCode` classes charted (its first digit, the HTTP status class).
pub(crate) const CLASSES: [&str; 3] = ["2xx", "4xx", "5xx"];
/// Latency buckets: bucket `i` holds latencies up to `FIRST_BUCKET_US · GROWTH^i`.
const BUCKETS: usize = 36;
const FIRST_BUCKET_US: f64 = 50.0;
const GROWTH: f64 = 1.5;

struct Slot {
    /// The Unix minute the counts belong to.
    minute: AtomicU64,
    counts: [[AtomicU64; CLASSES.len()]; SERVICES.len()],
    latency: [AtomicU64; BUCKETS],
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            minute: AtomicU64::new(0),
            counts: [const { [const { AtomicU64::new(0) }; CLASSES.len()] }; SERVICES.len()],
            latency: [const { AtomicU64::new(0) }; BUCKETS],
        }
    }

    fn clear(&self, minute: u64) {
        for service in &self.counts {
            for count in service {
                count.store(0, Ordering::Relaxed);
            }
        }
        for bucket in &self.latency {
            bucket.store(0, Ordering::Relaxed);
        }
        self.minute.store(minute, Ordering::Release);
    }
}

/// An hour of minute slots, reused round the clock.
pub(crate) struct RequestRing {
    slots: [Slot; MINUTES],
    /// Held while a slot is cleared for a new minute.
    turning: Mutex<()>,
}

/// The ring of the process (every app in it reports here, like the metrics recorder).
pub(crate) static RING: RequestRing = RequestRing::new();

fn unix_minute(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() / 60
}

fn bucket_of(latency: Duration) -> usize {
    let micros = latency.as_secs_f64() * 1e6;
    if micros <= FIRST_BUCKET_US {
        return 0;
    }
    let index = (micros / FIRST_BUCKET_US).log(GROWTH).ceil() as usize;
    index.min(BUCKETS - 1)
}

/// The upper bound of bucket `index`.
fn bucket_bound(index: usize) -> Duration {
    Duration::from_secs_f64(FIRST_BUCKET_US * GROWTH.powi(index as i32) / 1e6)
}

impl RequestRing {
    const fn new() -> RequestRing {
        RequestRing {
            slots: [const { Slot::new() }; MINUTES],
            turning: Mutex::new(()),
        }
    }

    /// Counts one answered request at `at`.
    pub(crate) fn record(
        &self,
        at: SystemTime,
        service: &str,
        response_code: &str,
        latency: Duration,
    ) {
        let minute = unix_minute(at);
        let slot = &self.slots[(minute % MINUTES as u64) as usize];
        if slot.minute.load(Ordering::Acquire) != minute {
            let _turning = self.turning.lock().unwrap_or_else(|p| p.into_inner());
            if slot.minute.load(Ordering::Acquire) != minute {
                slot.clear(minute);
            }
        }
        let service = SERVICES
            .iter()
            .position(|s| *s == service)
            .unwrap_or(SERVICES.len() - 1);
        let class = match response_code.as_bytes().first() {
            Some(b'2') => Some(0),
            Some(b'4') => Some(1),
            Some(b'5') => Some(2),
            _ => None,
        };
        if let Some(class) = class {
            slot.counts[service][class].fetch_add(1, Ordering::Relaxed);
        }
        slot.latency[bucket_of(latency)].fetch_add(1, Ordering::Relaxed);
    }

    /// The last hour up to `now`, oldest minute first; minutes without requests are zero.
    pub(crate) fn last_hour(&self, now: SystemTime) -> Vec<Minute> {
        let current = unix_minute(now);
        (0..MINUTES as u64)
            .rev()
            .map(|ago| {
                let minute = current.saturating_sub(ago);
                let slot = &self.slots[(minute % MINUTES as u64) as usize];
                let mut read = Minute {
                    minute,
                    counts: [[0; CLASSES.len()]; SERVICES.len()],
                    latency: [0; BUCKETS],
                };
                if slot.minute.load(Ordering::Acquire) == minute {
                    for (into, from) in read.counts.iter_mut().zip(&slot.counts) {
                        for (count, atomic) in into.iter_mut().zip(from) {
                            *count = atomic.load(Ordering::Relaxed);
                        }
                    }
                    for (count, atomic) in read.latency.iter_mut().zip(&slot.latency) {
                        *count = atomic.load(Ordering::Relaxed);
                    }
                }
                read
            })
            .collect()
    }
}

/// One minute of the last hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Minute {
    /// The Unix minute.
    pub(crate) minute: u64,
    /// Requests by service (as [`SERVICES`]) and class (as [`CLASSES`]).
    pub(crate) counts: [[u64; CLASSES.len()]; SERVICES.len()],
    /// The latency histogram.
    latency: [u64; BUCKETS],
}

impl Minute {
    /// All requests of the minute.
    pub(crate) fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }
}

/// The latency below which a `quantile` (0 to 1) of the minutes' requests were answered (the
/// bound of its histogram bucket: within 50 % of the true value); `None` without requests.
pub(crate) fn latency_quantile(minutes: &[Minute], quantile: f64) -> Option<Duration> {
    let mut merged = [0u64; BUCKETS];
    for minute in minutes {
        for (sum, count) in merged.iter_mut().zip(&minute.latency) {
            *sum += count;
        }
    }
    let total: u64 = merged.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((total as f64) * quantile).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (index, count) in merged.iter().enumerate() {
        seen += count;
        if seen >= rank {
            return Some(bucket_bound(index));
        }
    }
    Some(bucket_bound(BUCKETS - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_minute_service_and_class_and_old_minutes_are_cleared() {
        let ring = RequestRing::new();
        let base = UNIX_EPOCH + Duration::from_secs(60 * 1_000_000);
        ring.record(base, "47", "2004700", Duration::from_micros(400));
        ring.record(base, "47", "4014700", Duration::from_millis(3));
        ring.record(
            base + Duration::from_secs(61),
            "90",
            "2009000",
            Duration::from_micros(40),
        );
        let hour = ring.last_hour(base + Duration::from_secs(61));
        assert_eq!(hour.len(), MINUTES);
        let (before, last) = (&hour[MINUTES - 2], &hour[MINUTES - 1]);
        assert_eq!(before.counts[1], [1, 1, 0]);
        assert_eq!(last.counts[3], [1, 0, 0]);
        assert_eq!(last.total(), 1);
        let p50 = latency_quantile(&hour, 0.5).unwrap();
        assert!(p50 >= Duration::from_micros(400) && p50 < Duration::from_micros(700));
        let p99 = latency_quantile(&hour, 0.99).unwrap();
        assert!(p99 >= Duration::from_millis(3) && p99 < Duration::from_millis(5));
        // An hour after the second minute its slot is reused: its counts are gone.
        let later = base + Duration::from_secs(61 * 60);
        ring.record(later, "47", "2004700", Duration::from_micros(400));
        let hour = ring.last_hour(later);
        assert_eq!(hour[MINUTES - 1].counts[1], [1, 0, 0]);
        assert!(hour[..MINUTES - 1].iter().all(|m| m.total() == 0));
    }
}
