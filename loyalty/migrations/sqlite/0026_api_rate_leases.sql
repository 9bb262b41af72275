-- Issue 25: each server process takes a key's requests of a minute in
-- leases (several at once) and spends them in memory, so an API request no
-- longer commits a count of its own. `granted` is what the last lease of
-- the window got, which the upsert returns: the limit minus what was used,
-- at most the lease. (SQLite counts the API in memory, one process; the
-- column keeps the two schemas alike.)
ALTER TABLE api_rate_windows ADD COLUMN granted INTEGER NOT NULL DEFAULT 1 CHECK (granted >= 1);
