-- The merchant-day index carries every column a list item shows (INCLUDE), so listing a day can
-- be an index-only scan instead of a heap fetch per item.
DROP INDEX qr_codes_by_merchant_day;
CREATE INDEX qr_codes_by_merchant_day
    ON qr_codes (merchant_id, jakarta_date, generated_at DESC, id_qr DESC)
    INCLUDE (kind, expires_at, amount_sen);
