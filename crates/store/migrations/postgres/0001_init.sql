CREATE TABLE partners (
    client_id       TEXT PRIMARY KEY,
    public_key_pem  TEXT NOT NULL,
    client_secret   TEXT NOT NULL,
    signature_mode  TEXT NOT NULL CHECK (signature_mode IN ('hmac', 'rsa')),
    services        TEXT NOT NULL,
    enabled         BIGINT NOT NULL DEFAULT 1,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE merchants (
    merchant_id       TEXT PRIMARY KEY,
    client_id         TEXT NOT NULL REFERENCES partners (client_id),
    name              TEXT NOT NULL,
    city              TEXT NOT NULL,
    mcc               TEXT NOT NULL,
    postal_code       TEXT NOT NULL,
    nmid              TEXT NOT NULL,
    criteria          TEXT NOT NULL,
    blacklisted       BIGINT NOT NULL DEFAULT 0,
    blacklist_reason  TEXT,
    blacklisted_at    BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX merchants_by_partner ON merchants (client_id);

CREATE TABLE qr_codes (
    id_qr                 BIGINT PRIMARY KEY,
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
CREATE INDEX qr_codes_by_merchant_day
    ON qr_codes (merchant_id, jakarta_date, generated_at DESC, id_qr DESC);

CREATE TABLE external_ids (
    client_id     TEXT NOT NULL,
    jakarta_date  TEXT NOT NULL,
    external_id   TEXT NOT NULL,
    claimed_at    BIGINT NOT NULL,
    PRIMARY KEY (client_id, jakarta_date, external_id)
);
CREATE INDEX external_ids_by_day ON external_ids (jakarta_date);

CREATE TABLE nodes (
    node_id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at  BIGINT NOT NULL
);

CREATE TABLE server_keys (
    name   TEXT PRIMARY KEY,
    value  BYTEA NOT NULL
);
