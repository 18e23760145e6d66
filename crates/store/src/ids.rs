//! `id_qr` generation: unique across nodes without a round trip, increasing over time.
//!
//! Layout of the 63-bit id (a decimal string of at most 19 digits, CONTRACT §4.4):
//! milliseconds since 2024-01-01 UTC (42 bits: until the year 2163) | node (9 bits) |
//! sequence (12 bits: 4096 ids per millisecond and node).
//! Each serving process leases a node number no live process holds (`node.rs`); the primary
//! key on `qr_codes.id_qr` still stands behind it.

use std::sync::Mutex;
use time::OffsetDateTime;

const EPOCH_MS: i64 = 1_704_067_200_000; // 2024-01-01T00:00:00Z
const NODE_BITS: u32 = 9;
/// How many node numbers there are.
pub(crate) const NODES: i64 = 1 << NODE_BITS;
const SEQUENCE_BITS: u32 = 12;
const SEQUENCE_MASK: i64 = (1 << SEQUENCE_BITS) - 1;

/// Hands out `id_qr` values for one node.
#[derive(Debug)]
pub(crate) struct QrIdGenerator {
    node: i64,
    state: Mutex<(i64, i64)>,
}

impl QrIdGenerator {
    /// A generator for the node with this (leased) number, below [`NODES`], whose ids are
    /// of `from`'s millisecond or later: the lease's start, so that ids drawn under it never
    /// meet those of the number's previous holder, all of which are of earlier milliseconds
    /// (`node.rs`), even if the caller read its clock before it took the lease.
    pub(crate) fn new(node: i64, from: OffsetDateTime) -> Self {
        QrIdGenerator {
            node: node.rem_euclid(NODES),
            state: Mutex::new((millis(from), -1)),
        }
    }

    /// The millisecond of the latest id handed out (or of the start): a released lease keeps
    /// its number until after it.
    pub(crate) fn last(&self) -> OffsetDateTime {
        let (ms, _) = *self
            .state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        crate::rows::from_ms(ms + EPOCH_MS).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// The next id; strictly greater than every id this generator returned before.
    pub(crate) fn next(&self, now: OffsetDateTime) -> i64 {
        let now_ms = millis(now);
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let (last_ms, last_sequence) = *state;
        // A clock that steps back must not produce an id twice: stay on the last millisecond.
        let (ms, sequence) = if now_ms > last_ms {
            (now_ms, 0)
        } else if last_sequence < SEQUENCE_MASK {
            (last_ms, last_sequence + 1)
        } else {
            (last_ms + 1, 0)
        };
        *state = (ms, sequence);
        (ms.max(0) << (NODE_BITS + SEQUENCE_BITS)) | (self.node << SEQUENCE_BITS) | sequence
    }
}

fn millis(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64 - EPOCH_MS
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn ids_strictly_increase_even_within_one_millisecond() {
        let generator = QrIdGenerator::new(3, OffsetDateTime::UNIX_EPOCH);
        let now = datetime!(2026-11-25 08:00 UTC);
        let mut last = 0;
        for _ in 0..10_000 {
            let id = generator.next(now);
            assert!(id > last);
            last = id;
        }
    }

    #[test]
    fn ids_survive_a_clock_stepping_back() {
        let generator = QrIdGenerator::new(1, OffsetDateTime::UNIX_EPOCH);
        let first = generator.next(datetime!(2026-11-25 08:00 UTC));
        let second = generator.next(datetime!(2026-11-25 07:59 UTC));
        assert!(second > first);
    }

    #[test]
    fn two_nodes_never_share_an_id_in_the_same_millisecond() {
        let now = datetime!(2026-11-25 08:00 UTC);
        let a = QrIdGenerator::new(1, OffsetDateTime::UNIX_EPOCH);
        let b = QrIdGenerator::new(2, OffsetDateTime::UNIX_EPOCH);
        let from_a: Vec<i64> = (0..100).map(|_| a.next(now)).collect();
        assert!(
            (0..100)
                .map(|_| b.next(now))
                .all(|id| !from_a.contains(&id))
        );
    }

    #[test]
    fn the_next_holder_of_a_number_never_repeats_an_id_even_with_an_older_clock() {
        let start = datetime!(2026-11-25 08:00 UTC);
        let first = QrIdGenerator::new(7, start);
        let before: Vec<i64> = (0..100).map(|_| first.next(start)).collect();
        let released = first.last();
        // The next lease starts after the release mark; its caller read the clock earlier.
        let second = QrIdGenerator::new(7, released + time::Duration::milliseconds(1));
        let latest = *before.iter().max().unwrap();
        assert!((0..100).all(|_| second.next(start) > latest));
    }

    #[test]
    fn an_id_fits_twenty_decimal_digits_for_a_century() {
        let id = QrIdGenerator::new(511, OffsetDateTime::UNIX_EPOCH)
            .next(datetime!(2124-01-01 00:00 UTC));
        assert!(id > 0 && id.to_string().len() <= 19);
    }
}
