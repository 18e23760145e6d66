-- `id_qr` node numbers are leased by serving processes (CONTRACT §8): a live lease is never
-- handed to another process, a released or expired one is. The old registration table, whose
-- row count modulo 512 was the node number, goes.
CREATE TABLE node_leases (
    node        BIGINT PRIMARY KEY CHECK (node >= 0 AND node < 512),
    holder      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
DROP TABLE nodes;
