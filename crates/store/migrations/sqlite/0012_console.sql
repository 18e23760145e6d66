-- The operator console (CONTRACT §7): operators and their Argon2id password hashes, sessions
-- (kept here so every node accepts them; only a SHA-256 of the cookie's id is stored), wrong
-- password tries (the lock of a name or an address is counted from them) and the audit log.
CREATE TABLE operators (
    name           TEXT PRIMARY KEY,
    password_hash  TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE TABLE console_sessions (
    id_hash     TEXT PRIMARY KEY,
    operator    TEXT NOT NULL REFERENCES operators (name) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL
);
CREATE INDEX console_sessions_by_operator ON console_sessions (operator);
CREATE TABLE login_failures (
    name     TEXT NOT NULL,
    address  TEXT NOT NULL,
    at       INTEGER NOT NULL
);
CREATE INDEX login_failures_by_name ON login_failures (name, at);
CREATE INDEX login_failures_by_address ON login_failures (address, at);
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    operator  TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    detail    TEXT NOT NULL,
    at        INTEGER NOT NULL
);
