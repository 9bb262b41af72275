-- Marketing automation: the scheduler's runs carry a lease (a server that
-- dies mid-run is taken over once the lease lapses) and a failure stays
-- visible; the brand's triggers, what each gave to whom (once per
-- occurrence), messages waiting for the webhook bridge, and check-ins.

-- SQLite cannot widen the job CHECK in place: the (small) table is rebuilt.
CREATE TABLE job_runs_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job         TEXT    NOT NULL CHECK (job IN ('tier_review', 'points_expiry', 'automation_daily',
                                                'automation_events', 'messages')),
    brand_id    BIGINT  NOT NULL REFERENCES brands (id),
    period      TEXT    NOT NULL CHECK (length(period) BETWEEN 1 AND 20),
    started_at  BIGINT  NOT NULL,
    -- Until then the run belongs to `worker`; after it, another may take it over.
    lease_until BIGINT  NOT NULL,
    worker      TEXT    NOT NULL DEFAULT '' CHECK (length(worker) <= 80),
    attempts    BIGINT  NOT NULL DEFAULT 1 CHECK (attempts >= 1),
    finished_at BIGINT,
    failed      INTEGER NOT NULL DEFAULT 0 CHECK (failed IN (0, 1)),
    outcome     TEXT    CHECK (length(outcome) <= 300),
    CONSTRAINT job_runs_period_key UNIQUE (job, brand_id, period)
);
INSERT INTO job_runs_new (id, job, brand_id, period, started_at, lease_until, finished_at, outcome)
    SELECT id, job, brand_id, period, started_at, COALESCE(finished_at, started_at), finished_at, outcome
    FROM job_runs;
DROP TABLE job_runs;
ALTER TABLE job_runs_new RENAME TO job_runs;
CREATE INDEX job_runs_recent_idx ON job_runs (brand_id, job, started_at);

CREATE TABLE automations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id    BIGINT  NOT NULL REFERENCES brands (id),
    kind        TEXT    NOT NULL CHECK (kind IN ('join', 'birthday', 'tier_up', 'nth_visit',
                                                    'no_visit', 'points_expiring')),
    -- birthday: days before (NULL: on the first day of the birthday month);
    -- nth_visit: N; no_visit: days without a visit; points_expiring: days ahead.
    param       BIGINT  CHECK (param BETWEEN 0 AND 3650),
    template_id BIGINT  REFERENCES coupon_templates (id),
    points      BIGINT  CHECK (points BETWEEN 1 AND 1000000),
    message     TEXT    CHECK (length(message) BETWEEN 1 AND 300),
    active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at  BIGINT  NOT NULL,
    CONSTRAINT automations_brand_id_key UNIQUE (brand_id, id),
    CHECK (template_id IS NOT NULL OR points IS NOT NULL OR message IS NOT NULL),
    CHECK ((kind IN ('nth_visit', 'no_visit', 'points_expiring') AND param IS NOT NULL AND param >= 1)
           OR (kind = 'birthday' AND (param IS NULL OR param <= 30))
           OR (kind IN ('join', 'tier_up') AND param IS NULL))
);

-- One row per benefit given: the key (automation, member, occurrence) is
-- what makes a rerun of a job, or two servers running it, give nothing twice.
CREATE TABLE automation_grants (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id      BIGINT  NOT NULL,
    automation_id BIGINT  NOT NULL,
    member_id     BIGINT  NOT NULL,
    -- birthday: the year; nth_visit: the purchase; no_visit: the last visit;
    -- tier_up: the tier change; points_expiring: the expiry day; join: 'join'.
    occurrence    TEXT    NOT NULL CHECK (length(occurrence) BETWEEN 1 AND 40),
    coupon_id     BIGINT  REFERENCES coupons (id),
    points        BIGINT  NOT NULL DEFAULT 0 CHECK (points >= 0),
    messaged      INTEGER NOT NULL DEFAULT 0 CHECK (messaged IN (0, 1)),
    created_at    BIGINT  NOT NULL,
    CONSTRAINT automation_grants_once_key UNIQUE (automation_id, member_id, occurrence),
    FOREIGN KEY (brand_id, automation_id) REFERENCES automations (brand_id, id),
    FOREIGN KEY (brand_id, member_id) REFERENCES members (brand_id, id)
);
CREATE INDEX automation_grants_member_idx ON automation_grants (member_id);

-- Messages to members with marketing consent, sent by the `messages` job
-- through the webhook bridge. The text is kept only until it is sent.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id   BIGINT  NOT NULL,
    member_id  BIGINT  NOT NULL,
    body       TEXT    CHECK (length(body) BETWEEN 1 AND 400),
    created_at BIGINT  NOT NULL,
    attempts   BIGINT  NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_at    BIGINT  NOT NULL,
    sent_at    BIGINT,
    -- gave up after too many attempts, or the member withdrew consent or was erased
    dropped_at BIGINT,
    CHECK (sent_at IS NULL OR dropped_at IS NULL),
    CHECK ((sent_at IS NULL AND dropped_at IS NULL) = (body IS NOT NULL)),
    FOREIGN KEY (brand_id, member_id) REFERENCES members (brand_id, id)
);
CREATE INDEX outbox_due_idx ON outbox (brand_id, next_at) WHERE sent_at IS NULL AND dropped_at IS NULL;

-- Check-in (签到): once per member and day of the brand's calendar.
CREATE TABLE checkins (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id   BIGINT  NOT NULL,
    member_id  BIGINT  NOT NULL,
    local_day  TEXT    NOT NULL CHECK (local_day GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    streak     BIGINT  NOT NULL CHECK (streak >= 1),
    points     BIGINT  NOT NULL CHECK (points >= 0),
    created_at BIGINT  NOT NULL,
    CONSTRAINT checkins_day_key UNIQUE (brand_id, member_id, local_day),
    FOREIGN KEY (brand_id, member_id) REFERENCES members (brand_id, id)
);

-- Check-in rewards: points a day (0: check-in is off), and a bonus on every
-- completed streak of this many days in a row.
ALTER TABLE loyalty_rules ADD COLUMN checkin_points BIGINT NOT NULL DEFAULT 0
    CHECK (checkin_points BETWEEN 0 AND 10000);
ALTER TABLE loyalty_rules ADD COLUMN checkin_streak_days BIGINT NOT NULL DEFAULT 7
    CHECK (checkin_streak_days BETWEEN 2 AND 31);
ALTER TABLE loyalty_rules ADD COLUMN checkin_streak_bonus BIGINT NOT NULL DEFAULT 0
    CHECK (checkin_streak_bonus BETWEEN 0 AND 100000);

-- What the event triggers look through every minute: the last week's joins,
-- purchases and tier changes of a brand.
CREATE INDEX members_brand_created_idx ON members (brand_id, created_at);
CREATE INDEX purchases_brand_created_idx ON purchases (brand_id, created_at);
CREATE INDEX tier_changes_brand_created_idx ON tier_changes (brand_id, created_at);
