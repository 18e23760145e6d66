-- Payments (CONTRACT §6.1): each one its own row, since a static QR is paid many times and
-- refunds will point at one payment. A payer's `partnerReferenceNo` makes one payment at most.
CREATE TABLE payments (
    payment_id            BIGINT PRIMARY KEY,
    id_qr                 BIGINT NOT NULL REFERENCES qr_codes (id_qr),
    payer_client_id       TEXT NOT NULL,
    partner_reference_no  TEXT NOT NULL,
    amount_sen            BIGINT NOT NULL,
    paid_at               BIGINT NOT NULL,
    issuer_name           TEXT,
    customer_name         TEXT,
    rrn                   TEXT,
    CONSTRAINT payments_payer_reference UNIQUE (payer_client_id, partner_reference_no)
);
CREATE INDEX payments_by_qr ON payments (id_qr, paid_at DESC, payment_id DESC);
-- Each paid QR becomes one payment (a static QR: its latest, the only one remembered). Its
-- payment_id is the id_qr itself: ids come from one generator, so no later payment can take
-- it. The payer is unknown: the QR's own partner, under the reference `migrated-<id_qr>`.
INSERT INTO payments (payment_id, id_qr, payer_client_id, partner_reference_no, amount_sen,
        paid_at)
    SELECT id_qr, id_qr, client_id, 'migrated-' || id_qr, COALESCE(paid_amount_sen, amount_sen, 0),
        paid_at
    FROM qr_codes WHERE payment_count > 0 AND paid_at IS NOT NULL;
