-- Periodic jobs (points expiry, the monthly tier review) claim each period
-- per brand here before running, so a period runs once even with several
-- servers on one database, and a restart does not run it again.
CREATE TABLE job_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job         TEXT    NOT NULL CHECK (job IN ('tier_review')),
    brand_id    BIGINT  NOT NULL REFERENCES brands (id),
    period      TEXT    NOT NULL,
    started_at  BIGINT  NOT NULL,
    finished_at BIGINT,
    outcome     TEXT,
    CONSTRAINT job_runs_period_key UNIQUE (job, brand_id, period)
);
