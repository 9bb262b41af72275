-- The staff console: an append-only audit log of every staff write, and the
-- forms staff have submitted (so a double click or a resubmitted form acts
-- once and shows the first outcome again).

CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id     BIGINT NOT NULL REFERENCES brands (id),
    -- NULL when the command line acted (tablecard unlock-staff).
    staff_id     BIGINT REFERENCES staff (id),
    store_id     BIGINT,
    action       TEXT   NOT NULL CHECK (length(action) BETWEEN 1 AND 60),
    target_type  TEXT   NOT NULL CHECK (length(target_type) BETWEEN 1 AND 30),
    target_id    BIGINT,
    -- JSON objects; never a phone number or a name in clear.
    before_json  TEXT,
    after_json   TEXT,
    ip           TEXT CHECK (ip IS NULL OR length(ip) <= 64),
    created_at   BIGINT NOT NULL
);

CREATE INDEX audit_log_brand_idx ON audit_log (brand_id, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TABLE staff_requests (
    staff_id    BIGINT NOT NULL REFERENCES staff (id),
    form_key    TEXT   NOT NULL CHECK (length(form_key) BETWEEN 16 AND 64),
    -- What the form said: the same key with other content is refused.
    request_hash TEXT  NOT NULL CHECK (length(request_hash) = 64),
    -- The outcome to show again, JSON; NULL only inside the claiming transaction.
    outcome     TEXT,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (staff_id, form_key)
);

CREATE INDEX staff_requests_created_idx ON staff_requests (created_at);
