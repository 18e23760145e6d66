//! `X-EXTERNAL-ID` claims on SQLite: rows appended in arrival order, uniqueness decided by an
//! index in the writer's memory.
//!
//! A claim used to be an insert into a table keyed by the id. Ids are random, so every claim
//! landed on a random leaf of a B-tree larger than the cache: a page read, a WAL page written
//! and later checkpointed, per request (BENCHMARKS.md). Now the table is a log: `seq` grows
//! with each claim, so new rows fill its last page (and the last page of the by-day index), and
//! [`ClaimIndex`] answers "already used?" from memory. It is only ever used by the writer
//! thread (which owns it outright, `writer.rs`), inside the write transaction that appends the
//! row:
//! - the store loads every kept claim when it opens ([`ClaimIndex::load`]); before each claim
//!   the index reads the rows appended since it last looked (`seq` greater than the last one it
//!   saw): the claims of any other process writing the same file. The transaction's write lock
//!   (`BEGIN IMMEDIATE`) keeps anyone from appending between that read and this claim's own
//!   row, so one claim per partner, day and id holds across processes, as the unique key did;
//! - `seq` is `AUTOINCREMENT`, never reused, so "after the last one seen" misses nothing;
//! - when a write transaction does not commit, the writer calls [`ClaimIndex::forget_all`] and
//!   the next claim reads the whole table again, which is the truth.
//!
//! Memory: a hash-table slot of 24 bytes per claim of the days kept; 600,000 claims grew a
//! server's RSS by 39 MB, ~65 bytes a claim with the table's spare room (loaded at open, with
//! room made up front, ~45 bytes). The retention purge drops older days from the table and the
//! index together. A release made by another process on the same file is seen by this one after
//! a restart: until then the id stays used here (a refusal, never a second acceptance).

use crate::StoreError;
use crate::model::{Claim, ExternalIdKey};
use crate::rows::to_ms;
use rusqlite::{Connection, params};
use snapqris_protocol::JakartaDate;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};
use time::OffsetDateTime;

/// Claims appended since `$1`, in order: what another process added (or all, at first use).
const CLAIMS_AFTER: &str = "SELECT seq, client_id, jakarta_date, external_id FROM external_ids \
     WHERE seq > $1 ORDER BY seq";
/// How many claims each kept day has (from the by-day index alone).
const CLAIMS_PER_DAY: &str =
    "SELECT jakarta_date, COUNT(*) FROM external_ids GROUP BY jakarta_date";
const CLAIM_APPEND: &str = "INSERT INTO external_ids (client_id, jakarta_date, external_id, \
     claimed_at) VALUES ($1, $2, $3, $4)";
const CLAIM_DELETE: &str = "DELETE FROM external_ids WHERE seq = $1";
/// Claims of days before `$1`, at most `$2` of them, found through the by-day index.
const CLAIM_PURGE_BATCH: &str = "DELETE FROM external_ids WHERE seq IN \
     (SELECT seq FROM external_ids WHERE jakarta_date < $1 LIMIT $2)";

/// 128 bits standing for one partner's id: two SipHash values under keys drawn at random when
/// the index is made, so no client can aim for a collision. Two different ids share one with
/// probability 2⁻¹²⁸ (below 10⁻²⁰ for a billion claims), and a collision could only refuse an
/// id, never accept one twice. Two `u64`s rather than a `u128`: a map slot of 24 bytes, not 32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint(u64, u64);

impl Hash for Fingerprint {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Random already: half of it is as good a hash as any.
        state.write_u64(self.0);
    }
}

/// The [`Hasher`] of maps keyed by a [`Fingerprint`]: takes the one `u64` it is given.
#[derive(Default)]
struct FingerprintHasher(u64);

impl Hasher for FingerprintHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// One day's claims: fingerprint → the row's `seq` (to delete it on release).
type DayClaims = HashMap<Fingerprint, i64, BuildHasherDefault<FingerprintHasher>>;

/// Which ids are used, per Jakarta day, as the `external_ids` table says.
#[derive(Debug, Default)]
pub(crate) struct ClaimIndex {
    days: HashMap<JakartaDate, DayClaims>,
    /// The highest `seq` read or written; 0 before the first look.
    last_seen: i64,
    keys: [RandomState; 2],
}

impl ClaimIndex {
    fn fingerprint(&self, client_id: &str, external_id: &str) -> Fingerprint {
        let [high, low] = &self.keys;
        let key = (client_id, external_id);
        Fingerprint(high.hash_one(key), low.hash_one(key))
    }

    /// Reads every kept claim, making room for each day's claims first (the store loads the
    /// index as it opens, so that the first request after a restart does not wait for it).
    pub(crate) fn load(&mut self, c: &Connection) -> Result<(), StoreError> {
        self.forget_all();
        let mut statement = c.prepare_cached(CLAIMS_PER_DAY)?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let day = text(row, 0)?;
            let day = JakartaDate::parse(day)
                .map_err(|_| StoreError::backend(format!("external_ids: bad day {day:?}")))?;
            let count: i64 = row.get(1)?;
            let room = usize::try_from(count).unwrap_or(0);
            self.days.entry(day).or_default().reserve(room);
        }
        self.catch_up(c)
    }

    /// Adds the rows appended since the last look.
    fn catch_up(&mut self, c: &Connection) -> Result<(), StoreError> {
        let mut statement = c.prepare_cached(CLAIMS_AFTER)?;
        let mut rows = statement.query([self.last_seen])?;
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            let day = text(row, 2)?;
            let day = JakartaDate::parse(day).map_err(|_| {
                StoreError::backend(format!("external_ids row {seq}: bad day {day:?}"))
            })?;
            let fingerprint = self.fingerprint(text(row, 1)?, text(row, 3)?);
            self.days.entry(day).or_default().insert(fingerprint, seq);
            self.last_seen = seq;
        }
        Ok(())
    }

    /// Claims `key`, appending its row unless the partner used the id that day already.
    pub(crate) fn claim(
        &mut self,
        c: &Connection,
        key: &ExternalIdKey,
        now: OffsetDateTime,
    ) -> Result<Claim, StoreError> {
        self.catch_up(c)?;
        let fingerprint = self.fingerprint(key.client_id.as_str(), key.external_id.as_str());
        if self
            .days
            .get(&key.day)
            .is_some_and(|day| day.contains_key(&fingerprint))
        {
            return Ok(Claim::AlreadyUsed);
        }
        let values = params![
            key.client_id.as_str(),
            key.day.to_string(),
            key.external_id.as_str(),
            to_ms(now)
        ];
        c.prepare_cached(CLAIM_APPEND)?.execute(values)?;
        let seq = c.last_insert_rowid();
        self.days
            .entry(key.day)
            .or_default()
            .insert(fingerprint, seq);
        self.last_seen = seq;
        Ok(Claim::Claimed)
    }

    /// Gives `key` back: its row is deleted and the id may be claimed again.
    pub(crate) fn release(
        &mut self,
        c: &Connection,
        key: &ExternalIdKey,
    ) -> Result<(), StoreError> {
        self.catch_up(c)?;
        let fingerprint = self.fingerprint(key.client_id.as_str(), key.external_id.as_str());
        if let Some(seq) = self
            .days
            .get_mut(&key.day)
            .and_then(|day| day.remove(&fingerprint))
        {
            c.prepare_cached(CLAIM_DELETE)?.execute([seq])?;
        }
        Ok(())
    }

    /// Deletes up to `limit` claims of days before `before`; the index drops those days. (No
    /// claim is ever made for a day before the kept ones: a claim's day is the day it arrives.)
    pub(crate) fn purge_batch(
        &mut self,
        c: &Connection,
        before: JakartaDate,
        limit: i64,
    ) -> Result<u64, StoreError> {
        let deleted = c
            .prepare_cached(CLAIM_PURGE_BATCH)?
            .execute(params![before.to_string(), limit])?;
        self.days.retain(|day, _| *day >= before);
        Ok(deleted as u64)
    }

    /// Forgets everything: the next claim reads the whole table again.
    pub(crate) fn forget_all(&mut self) {
        self.days.clear();
        self.last_seen = 0;
    }
}

/// Column `index` of `row` as text.
fn text<'row>(row: &'row rusqlite::Row<'_>, index: usize) -> Result<&'row str, StoreError> {
    row.get_ref(index)?
        .as_str()
        .map_err(|e| StoreError::backend(format!("external_ids column {index}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use snapqris_protocol::{ClientId, ExternalId};
    use time::macros::{date, datetime};

    const NOW: OffsetDateTime = datetime!(2026-11-25 03:00 UTC);

    fn key(day: time::Date, id: &str) -> ExternalIdKey {
        ExternalIdKey {
            client_id: ClientId::parse("P1").unwrap(),
            day: JakartaDate::from_date(day),
            external_id: ExternalId::parse(id).unwrap(),
        }
    }

    /// Two connections to one migrated file, as two processes would hold.
    fn two_connections() -> (tempfile::TempDir, Connection, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("claims.db");
        let mut first = Connection::open(&path).unwrap();
        first.execute_batch("PRAGMA journal_mode = WAL").unwrap();
        crate::migrate::run_sqlite(&mut first).unwrap();
        let second = Connection::open(&path).unwrap();
        (dir, first, second)
    }

    fn claim(index: &mut ClaimIndex, c: &Connection, key: &ExternalIdKey) -> Claim {
        c.execute_batch("BEGIN IMMEDIATE").unwrap();
        let claimed = index.claim(c, key, NOW).unwrap();
        c.execute_batch("COMMIT").unwrap();
        claimed
    }

    #[test]
    fn an_id_is_used_once_per_partner_and_day_until_released() {
        let (_dir, c, _) = two_connections();
        let mut index = ClaimIndex::default();
        let today = key(date!(2026 - 11 - 25), "EXT-1");
        assert_eq!(claim(&mut index, &c, &today), Claim::Claimed);
        assert_eq!(claim(&mut index, &c, &today), Claim::AlreadyUsed);
        let tomorrow = key(date!(2026 - 11 - 26), "EXT-1");
        assert_eq!(claim(&mut index, &c, &tomorrow), Claim::Claimed);
        let other_partner = ExternalIdKey {
            client_id: ClientId::parse("P2").unwrap(),
            ..today.clone()
        };
        assert_eq!(claim(&mut index, &c, &other_partner), Claim::Claimed);

        index.release(&c, &today).unwrap();
        assert_eq!(claim(&mut index, &c, &today), Claim::Claimed);
        let rows: i64 = c
            .query_row("SELECT COUNT(*) FROM external_ids", [], |row| row.get(0))
            .unwrap();
        assert_eq!(
            rows, 3,
            "the released row was deleted, its new claim appended"
        );
    }

    #[test]
    fn claims_another_process_appended_are_seen_before_the_next_claim() {
        let (_dir, ours, theirs) = two_connections();
        let (mut our_index, mut their_index) = (ClaimIndex::default(), ClaimIndex::default());
        let first = key(date!(2026 - 11 - 25), "EXT-1");
        assert_eq!(claim(&mut our_index, &ours, &first), Claim::Claimed);
        assert_eq!(claim(&mut their_index, &theirs, &first), Claim::AlreadyUsed);
        let second = key(date!(2026 - 11 - 25), "EXT-2");
        assert_eq!(claim(&mut their_index, &theirs, &second), Claim::Claimed);
        assert_eq!(claim(&mut our_index, &ours, &second), Claim::AlreadyUsed);
    }

    #[test]
    fn a_claim_whose_transaction_rolled_back_is_forgotten_and_the_index_rebuilt() {
        let (_dir, c, _) = two_connections();
        let mut index = ClaimIndex::default();
        let kept = key(date!(2026 - 11 - 25), "EXT-KEPT");
        assert_eq!(claim(&mut index, &c, &kept), Claim::Claimed);
        let lost = key(date!(2026 - 11 - 25), "EXT-LOST");
        c.execute_batch("BEGIN IMMEDIATE").unwrap();
        assert_eq!(index.claim(&c, &lost, NOW).unwrap(), Claim::Claimed);
        c.execute_batch("ROLLBACK").unwrap();
        // What the writer does when a batch does not commit.
        index.forget_all();
        assert_eq!(claim(&mut index, &c, &lost), Claim::Claimed);
        assert_eq!(claim(&mut index, &c, &kept), Claim::AlreadyUsed);
    }

    #[test]
    fn a_purge_deletes_the_days_before_from_the_table_and_the_index() {
        let (_dir, c, _) = two_connections();
        let mut index = ClaimIndex::default();
        for day in [
            date!(2026 - 11 - 23),
            date!(2026 - 11 - 24),
            date!(2026 - 11 - 25),
        ] {
            for n in 0..3 {
                assert_eq!(
                    claim(&mut index, &c, &key(day, &format!("EXT-{n}"))),
                    Claim::Claimed
                );
            }
        }
        let before = JakartaDate::from_date(date!(2026 - 11 - 25));
        assert_eq!(index.purge_batch(&c, before, 4).unwrap(), 4);
        assert_eq!(index.purge_batch(&c, before, 4).unwrap(), 2);
        assert_eq!(index.purge_batch(&c, before, 4).unwrap(), 0);
        assert!(index.days.keys().all(|day| *day >= before));
        let kept = key(date!(2026 - 11 - 25), "EXT-0");
        assert_eq!(claim(&mut index, &c, &kept), Claim::AlreadyUsed);
        // A fresh index (a restart) reads only what is left.
        let mut restarted = ClaimIndex::default();
        assert_eq!(claim(&mut restarted, &c, &kept), Claim::AlreadyUsed);
        assert_eq!(restarted.days.len(), 1);
    }

    #[test]
    fn an_index_loaded_at_open_knows_every_kept_claim() {
        let (_dir, c, _) = two_connections();
        let mut before_restart = ClaimIndex::default();
        for n in 0..50 {
            let day = if n % 2 == 0 {
                date!(2026 - 11 - 24)
            } else {
                date!(2026 - 11 - 25)
            };
            assert_eq!(
                claim(&mut before_restart, &c, &key(day, &format!("EXT-{n}"))),
                Claim::Claimed
            );
        }
        let mut loaded = ClaimIndex::default();
        loaded.load(&c).unwrap();
        assert_eq!(loaded.days.values().map(HashMap::len).sum::<usize>(), 50);
        assert_eq!(loaded.last_seen, before_restart.last_seen);
        let used = key(date!(2026 - 11 - 25), "EXT-1");
        assert_eq!(claim(&mut loaded, &c, &used), Claim::AlreadyUsed);
        let fresh = key(date!(2026 - 11 - 25), "EXT-2");
        assert_eq!(
            claim(&mut loaded, &c, &fresh),
            Claim::Claimed,
            "EXT-2 was claimed on the 24th"
        );
    }

    #[test]
    fn a_claim_takes_a_24_byte_slot() {
        assert_eq!(std::mem::size_of::<(Fingerprint, i64)>(), 24);
    }

    #[test]
    fn fingerprints_differ_for_the_pairs_a_concatenation_would_confuse() {
        let index = ClaimIndex::default();
        assert_ne!(index.fingerprint("P1", "2X"), index.fingerprint("P12", "X"));
        assert_eq!(index.fingerprint("P1", "X"), index.fingerprint("P1", "X"));
    }
}
