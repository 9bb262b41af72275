-- Issue 25: on PostgreSQL, this migration adds triggers that tell every
-- server sharing the database when a POS key or a brand changes. One
-- process serves a SQLite file and hears of its own changes: nothing to add.
SELECT 1;
