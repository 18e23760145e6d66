-- The merchant-day index carries every column a list item shows, so listing a day reads the
-- index alone (SQLite's "COVERING INDEX"), without a lookup into the wide qr_codes rows (with
-- their ~150-byte qr_content) for each item: those lookups were two thirds of a list's read.
DROP INDEX qr_codes_by_merchant_day;
CREATE INDEX qr_codes_by_merchant_day
    ON qr_codes (merchant_id, jakarta_date, generated_at DESC, id_qr DESC, kind, expires_at,
        amount_sen);
