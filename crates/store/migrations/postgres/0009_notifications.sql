-- The notification outbox (CONTRACT §6.2): a row per notification, written in the same
-- transaction as its payment or refund, so an acknowledged event is never lost. `held` is not a
-- stored status: a pending row whose partner is disabled or has no callback URL is held.
CREATE TABLE notifications (
    notification_id   BIGINT PRIMARY KEY,
    client_id         TEXT NOT NULL,
    event             TEXT NOT NULL CHECK (event IN ('payment', 'refund')),
    id_qr             BIGINT NOT NULL,
    payment_id        BIGINT NOT NULL,
    refund_no         BIGINT,
    body              TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts          BIGINT NOT NULL DEFAULT 0,
    round_attempts    BIGINT NOT NULL DEFAULT 0,
    next_attempt_at   BIGINT,
    lease_holder      TEXT,
    lease_until       BIGINT,
    last_result       TEXT,
    created_at        BIGINT NOT NULL
);
-- The worker's scan: pending rows by due time (a backlog of any size stays an index range).
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
-- Order per payment: is an earlier notification of this payment still pending?
CREATE INDEX notifications_by_payment ON notifications (payment_id, created_at, notification_id);
CREATE INDEX notifications_by_partner ON notifications (client_id, notification_id);
-- Each attempt, for `admin notify show` and the console.
CREATE TABLE notification_attempts (
    notification_id   BIGINT NOT NULL REFERENCES notifications (notification_id),
    attempt           BIGINT NOT NULL,
    started_at        BIGINT NOT NULL,
    latency_ms        BIGINT NOT NULL,
    http_status       BIGINT,
    response_code     TEXT,
    error             TEXT,
    PRIMARY KEY (notification_id, attempt)
);
