-- The two tables every request writes, with fewer B-trees per insert (SQLite only; the
-- PostgreSQL schema is unchanged).
--
-- external_ids becomes a WITHOUT ROWID table keyed (day, partner, id): a claim is one B-tree
-- insert instead of three (rowid table, primary-key index, day index), and the purge of old
-- days is a range at the front of the key.
CREATE TABLE external_ids_v2 (
    client_id     TEXT NOT NULL,
    jakarta_date  TEXT NOT NULL,
    external_id   TEXT NOT NULL,
    claimed_at    BIGINT NOT NULL,
    PRIMARY KEY (jakarta_date, client_id, external_id)
) WITHOUT ROWID;
INSERT INTO external_ids_v2 (client_id, jakarta_date, external_id, claimed_at)
    SELECT client_id, jakarta_date, external_id, claimed_at FROM external_ids;
DROP TABLE external_ids;
ALTER TABLE external_ids_v2 RENAME TO external_ids;

-- qr_codes keys its rows by id_qr itself (INTEGER PRIMARY KEY is the rowid): one index fewer
-- per insert, and ids that grow with time append at the end of the table.
CREATE TABLE qr_codes_v2 (
    id_qr                 INTEGER PRIMARY KEY,
    merchant_id           TEXT NOT NULL REFERENCES merchants (merchant_id),
    client_id             TEXT NOT NULL,
    partner_reference_no  TEXT NOT NULL,
    kind                  TEXT NOT NULL CHECK (kind IN ('static', 'dynamic')),
    amount_sen            BIGINT,
    terminal_id           TEXT,
    generated_at          BIGINT NOT NULL,
    jakarta_date          TEXT NOT NULL,
    expires_at            BIGINT,
    cancelled_at          BIGINT,
    qr_content            TEXT NOT NULL,
    paid_at               BIGINT,
    paid_amount_sen       BIGINT,
    payment_count         BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT qr_codes_partner_reference UNIQUE (merchant_id, partner_reference_no)
);
INSERT INTO qr_codes_v2 (id_qr, merchant_id, client_id, partner_reference_no, kind, amount_sen,
        terminal_id, generated_at, jakarta_date, expires_at, cancelled_at, qr_content, paid_at,
        paid_amount_sen, payment_count)
    SELECT id_qr, merchant_id, client_id, partner_reference_no, kind, amount_sen, terminal_id,
        generated_at, jakarta_date, expires_at, cancelled_at, qr_content, paid_at,
        paid_amount_sen, payment_count
    FROM qr_codes;
DROP TABLE qr_codes;
ALTER TABLE qr_codes_v2 RENAME TO qr_codes;
CREATE INDEX qr_codes_by_merchant_day
    ON qr_codes (merchant_id, jakarta_date, generated_at DESC, id_qr DESC);
