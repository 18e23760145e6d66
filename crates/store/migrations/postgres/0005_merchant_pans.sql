-- Merchant PANs (tag 26.01) are allocated, not derived (CONTRACT §8): each merchant has an
-- account number, the PAN being the NNS, that number in 9 digits and a Luhn digit. Numbers come
-- from a sequence; the unique constraint decides, so no two merchants share one. Rows from
-- before get theirs right after the migrations (`pan.rs`): the number they were derived
-- before, unless an earlier merchant has it.
ALTER TABLE merchants ADD COLUMN pan_account BIGINT
    CHECK (pan_account >= 0 AND pan_account < 1000000000);
ALTER TABLE merchants ADD CONSTRAINT merchants_pan_account UNIQUE (pan_account);
-- Not checked on the rows from before (they are numbered in this same transaction), but on
-- every row written from now on: an older snapqris inserting a merchant is refused.
ALTER TABLE merchants ADD CONSTRAINT merchants_have_a_pan_account
    CHECK (pan_account IS NOT NULL) NOT VALID;

CREATE SEQUENCE merchant_pan_accounts AS BIGINT MINVALUE 1 MAXVALUE 999999999 NO CYCLE;
