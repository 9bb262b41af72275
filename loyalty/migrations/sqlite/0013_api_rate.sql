-- The POS API's rate limit per key, shared by every server process on one
-- database: one row per key and minute, counted by a conditional upsert.
CREATE TABLE api_rate_windows (
    key_id       BIGINT NOT NULL REFERENCES api_keys (id),
    window_start BIGINT NOT NULL,
    used         BIGINT NOT NULL CHECK (used >= 1),
    PRIMARY KEY (key_id, window_start)
);
