-- `daily-claim-limit` (CONTRACT §6.5): how many X-EXTERNAL-ID claims each partner made on each
-- Jakarta day, counted by a conditional upsert so that the limit holds across nodes.
CREATE TABLE claim_counts (
    client_id     TEXT NOT NULL,
    jakarta_date  DATE NOT NULL,
    claims        BIGINT NOT NULL,
    PRIMARY KEY (client_id, jakarta_date)
);
