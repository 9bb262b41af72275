-- Bringing in the members of an old program (issue 24): their old member
-- number and when they were imported on the member, "imported" rows in the
-- points ledger (so balance == ledger holds from the first day), and a
-- record of each import with its progress, so a page can show it and a
-- run cut off by a crash can go on where it stopped.

ALTER TABLE members ADD COLUMN legacy_no TEXT CHECK (length(legacy_no) BETWEEN 1 AND 40);
ALTER TABLE members ADD COLUMN imported_at BIGINT;
CREATE UNIQUE INDEX members_legacy_no_key ON members (brand_id, legacy_no) WHERE legacy_no IS NOT NULL;

-- The ledger learns the kind `import` (an opening balance, always a credit)
-- and the reference `import`. SQLite cannot change a CHECK in place, so the
-- table is rebuilt; `Db::migrate` runs migrations with foreign keys off and
-- checks them all afterwards.
CREATE TABLE points_ledger_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id    BIGINT  NOT NULL,
    member_id   BIGINT  NOT NULL,
    store_id    BIGINT,
    kind        TEXT    NOT NULL CHECK (kind IN ('earn', 'spend', 'expire', 'adjust', 'reverse', 'import')),
    amount      BIGINT  NOT NULL CHECK (amount <> 0),
    reason      TEXT    NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
    ref_type    TEXT    CHECK (ref_type IN ('purchase', 'refund', 'redemption', 'redemption_void', 'signup', 'lot',
                                            'coupon', 'feedback', 'checkin', 'referral', 'staff', 'campaign',
                                            'import')),
    ref_id      BIGINT,
    created_at  BIGINT  NOT NULL,
    -- Earning and importing add, spending and expiry take away.
    CHECK ((kind IN ('earn', 'import') AND amount > 0) OR (kind IN ('spend', 'expire') AND amount < 0)
           OR kind IN ('adjust', 'reverse')),
    FOREIGN KEY (brand_id, member_id) REFERENCES members (brand_id, id)
);
INSERT INTO points_ledger_new (id, brand_id, member_id, store_id, kind, amount, reason, ref_type, ref_id, created_at)
    SELECT id, brand_id, member_id, store_id, kind, amount, reason, ref_type, ref_id, created_at FROM points_ledger;
DROP TABLE points_ledger;
ALTER TABLE points_ledger_new RENAME TO points_ledger;
CREATE INDEX points_ledger_member_idx ON points_ledger (member_id, id);

CREATE TABLE member_imports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id    BIGINT  NOT NULL REFERENCES brands (id),
    -- Who started it; NULL: the command line.
    staff_id    BIGINT  REFERENCES staff (id),
    file_name   TEXT    NOT NULL CHECK (length(file_name) BETWEEN 1 AND 200),
    file_sha256 TEXT    NOT NULL CHECK (length(file_sha256) = 64),
    -- The file as uploaded, kept until its import is done.
    file        BLOB    CHECK (length(file) <= 16777216),
    rows_total  BIGINT  NOT NULL CHECK (rows_total >= 0),
    -- Rows handled so far (committed with them), and what became of them.
    rows_done   BIGINT  NOT NULL DEFAULT 0 CHECK (rows_done >= 0 AND rows_done <= rows_total),
    created     BIGINT  NOT NULL DEFAULT 0 CHECK (created >= 0),
    merged      BIGINT  NOT NULL DEFAULT 0 CHECK (merged >= 0),
    unchanged   BIGINT  NOT NULL DEFAULT 0 CHECK (unchanged >= 0),
    skipped     BIGINT  NOT NULL DEFAULT 0 CHECK (skipped >= 0),
    status      TEXT    NOT NULL DEFAULT 'checked' CHECK (status IN ('checked', 'running', 'done')),
    -- Why the last run stopped (an error code), until the next one starts.
    error       TEXT    CHECK (length(error) <= 60),
    created_at  BIGINT  NOT NULL,
    finished_at BIGINT,
    CHECK ((status = 'done') = (finished_at IS NOT NULL)),
    CHECK (status <> 'done' OR file IS NULL)
);
CREATE INDEX member_imports_brand_idx ON member_imports (brand_id, id);
