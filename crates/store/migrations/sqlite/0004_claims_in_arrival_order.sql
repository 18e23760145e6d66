-- X-EXTERNAL-ID claims in arrival order (SQLite only; PostgreSQL keeps its unique key).
--
-- Keyed by the id, every claim landed on a random leaf of a B-tree larger than the cache: a
-- page read, a WAL page written and later checkpointed, per request. Rows now append at the
-- end (`seq`; the by-day index grows at its end too), and the writer decides "already used?"
-- from an index of the kept days in its memory, reading before each claim the rows any other
-- process appended since it last looked (crates/store/src/sqlite/claims.rs). AUTOINCREMENT: a
-- `seq` is never reused, so "the rows after the last one seen" never misses one.
CREATE TABLE external_ids_v3 (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id     TEXT NOT NULL,
    jakarta_date  TEXT NOT NULL,
    external_id   TEXT NOT NULL,
    claimed_at    BIGINT NOT NULL
);
INSERT INTO external_ids_v3 (client_id, jakarta_date, external_id, claimed_at)
    SELECT client_id, jakarta_date, external_id, claimed_at FROM external_ids
    ORDER BY jakarta_date, claimed_at;
DROP TABLE external_ids;
ALTER TABLE external_ids_v3 RENAME TO external_ids;
CREATE INDEX external_ids_by_day ON external_ids (jakarta_date);
