-- Real column types, now that PostgreSQL is reached through its native driver rather than
-- sqlx's `Any` (which knew no booleans or dates): flags become BOOLEAN, Jakarta days DATE.
-- Changing a column's type rewrites the table and rebuilds its indexes (the merchant-day index
-- included) under an exclusive lock: a short pause for the tables of a young deployment.
ALTER TABLE partners ALTER COLUMN enabled DROP DEFAULT;
ALTER TABLE partners ALTER COLUMN enabled TYPE BOOLEAN USING enabled <> 0;
ALTER TABLE partners ALTER COLUMN enabled SET DEFAULT TRUE;

ALTER TABLE merchants ALTER COLUMN blacklisted DROP DEFAULT;
ALTER TABLE merchants ALTER COLUMN blacklisted TYPE BOOLEAN USING blacklisted <> 0;
ALTER TABLE merchants ALTER COLUMN blacklisted SET DEFAULT FALSE;

ALTER TABLE qr_codes ALTER COLUMN jakarta_date TYPE DATE USING jakarta_date::date;
ALTER TABLE external_ids ALTER COLUMN jakarta_date TYPE DATE USING jakarta_date::date;
