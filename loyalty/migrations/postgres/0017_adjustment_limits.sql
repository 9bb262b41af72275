-- Points staff add or take by hand (issue 21): the owner's limits for
-- managers, per adjustment and per manager per day (a brand without a row
-- has the defaults of `points::adjustments::Limits`); above them an
-- adjustment waits here until an owner, a second person, approves or
-- rejects it.
CREATE TABLE adjustment_limits (
    brand_id        BIGINT NOT NULL PRIMARY KEY REFERENCES brands (id),
    per_adjustment  BIGINT NOT NULL CHECK (per_adjustment BETWEEN 0 AND 10000000),
    per_day         BIGINT NOT NULL CHECK (per_day BETWEEN 0 AND 10000000)
);

CREATE TABLE adjustment_requests (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id      BIGINT NOT NULL,
    member_id     BIGINT NOT NULL,
    delta         BIGINT NOT NULL CHECK (delta <> 0 AND delta BETWEEN -10000000 AND 10000000),
    reason        TEXT   NOT NULL CHECK (length(reason) BETWEEN 1 AND 800),
    requested_by  BIGINT NOT NULL REFERENCES staff (id),
    created_at    BIGINT NOT NULL,
    state         TEXT   NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'rejected')),
    decided_by    BIGINT REFERENCES staff (id),
    decided_at    BIGINT,
    CHECK ((state = 'pending') = (decided_at IS NULL)),
    CHECK (decided_by IS NULL OR decided_by <> requested_by),
    FOREIGN KEY (brand_id, member_id) REFERENCES members (brand_id, id)
);

CREATE INDEX adjustment_requests_by_state ON adjustment_requests (brand_id, state, id);
