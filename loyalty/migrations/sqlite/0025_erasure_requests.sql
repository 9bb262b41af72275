-- Erasure at the counter (issue 24): a member who can no longer receive a
-- code asks staff in person to delete their account (PIPL art. 47). A
-- manager's request waits for an owner; an owner erases at once. Each step
-- is in the audit log; the request keeps only the member's id.
CREATE TABLE erasure_requests (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id     BIGINT NOT NULL,
    member_id    BIGINT NOT NULL,
    reason       TEXT   NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
    requested_by BIGINT NOT NULL REFERENCES staff (id),
    created_at   BIGINT NOT NULL,
    state        TEXT   NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'rejected')),
    decided_by   BIGINT REFERENCES staff (id),
    decided_at   BIGINT,
    CHECK ((state = 'pending') = (decided_at IS NULL)),
    CHECK (decided_by IS NULL OR decided_by <> requested_by),
    FOREIGN KEY (brand_id, member_id) REFERENCES members (brand_id, id)
);
CREATE INDEX erasure_requests_by_state ON erasure_requests (brand_id, state, id);
-- One waiting request per member.
CREATE UNIQUE INDEX erasure_requests_pending_key ON erasure_requests (member_id) WHERE state = 'pending';
