-- The staff console: an append-only audit log of every staff write, and the
-- forms staff have submitted (so a double click or a resubmitted form acts
-- once and shows the first outcome again).

CREATE TABLE audit_log (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id     BIGINT NOT NULL REFERENCES brands (id),
    -- NULL when the command line acted (tablecard unlock-staff).
    staff_id     BIGINT REFERENCES staff (id),
    store_id     BIGINT,
    action       TEXT   NOT NULL CHECK (char_length(action) BETWEEN 1 AND 60),
    target_type  TEXT   NOT NULL CHECK (char_length(target_type) BETWEEN 1 AND 30),
    target_id    BIGINT,
    -- JSON objects; never a phone number or a name in clear.
    before_json  TEXT,
    after_json   TEXT,
    ip           TEXT CHECK (ip IS NULL OR char_length(ip) <= 64),
    created_at   BIGINT NOT NULL
);

CREATE INDEX audit_log_brand_idx ON audit_log (brand_id, id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE staff_requests (
    staff_id    BIGINT NOT NULL REFERENCES staff (id),
    form_key    TEXT   NOT NULL CHECK (char_length(form_key) BETWEEN 16 AND 64),
    -- What the form said: the same key with other content is refused.
    request_hash TEXT  NOT NULL CHECK (char_length(request_hash) = 64),
    -- The outcome to show again, JSON; NULL only inside the claiming transaction.
    outcome     TEXT,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (staff_id, form_key)
);

CREATE INDEX staff_requests_created_idx ON staff_requests (created_at);
