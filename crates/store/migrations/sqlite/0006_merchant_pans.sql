-- Merchant PANs (tag 26.01) are allocated, not derived (CONTRACT §8): each merchant has an
-- account number, the PAN being the NNS, that number in 9 digits and a Luhn digit. Numbers come
-- from a counter bumped in the writer's transaction; the unique index decides, so no two
-- merchants share one. Rows from before get theirs right after the migrations (`pan.rs`):
-- the number they were derived before, unless an earlier merchant has it.
ALTER TABLE merchants ADD COLUMN pan_account BIGINT
    CHECK (pan_account >= 0 AND pan_account < 1000000000);
CREATE UNIQUE INDEX merchants_by_pan_account ON merchants (pan_account);

CREATE TABLE merchant_pan_counter (
    only_row  BIGINT PRIMARY KEY CHECK (only_row = 1),
    last      BIGINT NOT NULL CHECK (last >= 0 AND last < 1000000000)
);
INSERT INTO merchant_pan_counter (only_row, last) VALUES (1, 0);

-- A merchant without a number (an older snapqris inserting into this database) is refused.
CREATE TRIGGER merchants_have_a_pan_account BEFORE INSERT ON merchants
    WHEN NEW.pan_account IS NULL
BEGIN
    SELECT RAISE(ABORT, 'merchants.pan_account is required (upgrade every snapqris)');
END;
