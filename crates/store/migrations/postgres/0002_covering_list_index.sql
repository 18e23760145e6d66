-- The merchant-day index carries every column a list item shows (INCLUDE), so listing a day can
-- be an index-only scan instead of a heap fetch per item.
--
-- The new index is built before the old one is dropped: building takes a SHARE lock (lists
-- still read through the old index meanwhile), and only the short DROP and RENAME at the end
-- take the table's exclusive lock.
CREATE INDEX qr_codes_by_merchant_day_covering
    ON qr_codes (merchant_id, jakarta_date, generated_at DESC, id_qr DESC)
    INCLUDE (kind, expires_at, amount_sen);
DROP INDEX qr_codes_by_merchant_day;
ALTER INDEX qr_codes_by_merchant_day_covering RENAME TO qr_codes_by_merchant_day;
