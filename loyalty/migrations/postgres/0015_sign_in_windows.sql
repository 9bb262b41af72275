-- Staff sign-in attempts per client address, shared by every server
-- process: one row per address and ten-minute window, counted by a
-- conditional upsert before any password is hashed (issue 21). The address
-- is kept an hour at most (the hourly purge).
CREATE TABLE sign_in_windows (
    client_key   TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    used         BIGINT NOT NULL CHECK (used >= 1),
    PRIMARY KEY (client_key, window_start)
);
