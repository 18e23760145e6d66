-- Refunds (CONTRACT §6.3) and cancels (§6.4). Each refund is its own row; a payment keeps the
-- running sum of its refunds (`refunded_sen`), raised by a conditional UPDATE in the refund's
-- unit of work (`refunded_sen + amount <= amount_sen`): the row lock it takes serialises racing
-- refunds of one payment, each re-checking the condition on the row as the last one left it.
-- The CHECK is the last line of defence behind that UPDATE.
ALTER TABLE payments ADD COLUMN refunded_sen BIGINT NOT NULL DEFAULT 0,
    ADD CONSTRAINT payments_refunds_within_amount
        CHECK (refunded_sen >= 0 AND refunded_sen <= amount_sen);
CREATE TABLE refunds (
    refund_no          BIGINT PRIMARY KEY,
    payment_id         BIGINT NOT NULL REFERENCES payments (payment_id),
    id_qr              BIGINT NOT NULL REFERENCES qr_codes (id_qr),
    client_id          TEXT NOT NULL,
    partner_refund_no  TEXT NOT NULL,
    amount_sen         BIGINT NOT NULL CHECK (amount_sen > 0),
    reason             TEXT,
    refunded_at        BIGINT NOT NULL,
    CONSTRAINT refunds_partner_refund_no UNIQUE (client_id, partner_refund_no)
);
CREATE INDEX refunds_by_payment ON refunds (payment_id);
-- Service 77 cancels like service 93 expires (`cancelled_at`, `expires_at` = now) and also
-- keeps its reason: a QR with one was cancelled, not expired, and query says "Canceled".
ALTER TABLE qr_codes ADD COLUMN cancel_reason TEXT;
