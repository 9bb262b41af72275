-- Issue 25: each server process takes a key's requests of a minute in
-- leases (several at once) and spends them in memory, so an API request no
-- longer commits a count of its own. `granted` is what the last lease of
-- the window got, which the upsert returns: the limit minus what was used,
-- at most the lease.
ALTER TABLE api_rate_windows ADD COLUMN granted BIGINT NOT NULL DEFAULT 1 CHECK (granted >= 1);
