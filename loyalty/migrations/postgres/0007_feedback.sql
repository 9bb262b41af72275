-- Feedback: the diner's form (NPS, stars, comment), its reward, the
-- restaurant's reply; and ledger rows that can name what they were for.

-- The ledger's references grow with the features that give or take points:
-- a coupon bought with points, a feedback reward, and those announced for
-- check-ins, referrals, staff adjustments and campaigns.
ALTER TABLE points_ledger DROP CONSTRAINT points_ledger_ref_type_check;
ALTER TABLE points_ledger ADD CONSTRAINT points_ledger_ref_type_check
    CHECK (ref_type IN ('purchase', 'refund', 'redemption', 'redemption_void', 'signup', 'lot',
                        'coupon', 'feedback', 'checkin', 'referral', 'staff', 'campaign'));

-- A brand's feedback reward: points for a feedback with a comment (at most
-- once per member, store and day), and optionally a coupon.
ALTER TABLE loyalty_rules ADD COLUMN feedback_points BIGINT NOT NULL DEFAULT 10
    CHECK (feedback_points BETWEEN 0 AND 100000);
ALTER TABLE loyalty_rules ADD COLUMN feedback_coupon BIGINT REFERENCES coupon_templates (id);

CREATE TABLE feedback (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id       BIGINT  NOT NULL REFERENCES brands (id),
    store_id       BIGINT,
    table_id       BIGINT  REFERENCES dining_tables (id),
    -- NULL: a diner who has not joined, from a table's QR code.
    member_id      BIGINT,
    -- Such a diner may leave a phone for the reply.
    contact_phone  TEXT    CHECK (char_length(contact_phone) BETWEEN 8 AND 16),
    nps            BIGINT  NOT NULL CHECK (nps BETWEEN 0 AND 10),
    food           BIGINT  CHECK (food BETWEEN 1 AND 5),
    service        BIGINT  CHECK (service BETWEEN 1 AND 5),
    ambience       BIGINT  CHECK (ambience BETWEEN 1 AND 5),
    comment        TEXT    NOT NULL DEFAULT '' CHECK (char_length(comment) <= 1000),
    visit_date     TEXT    CHECK (visit_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
    -- The day it was sent, in the brand's calendar (rewards and reports).
    local_day      TEXT    NOT NULL CHECK (local_day ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
    -- A keyed hash of the sender's address, for the rate limit; never the address.
    client_key     TEXT    NOT NULL CHECK (char_length(client_key) BETWEEN 1 AND 64),
    reward_points  BIGINT  NOT NULL DEFAULT 0 CHECK (reward_points >= 0),
    reward_coupon  BIGINT  REFERENCES coupons (id),
    reply          TEXT    CHECK (char_length(reply) BETWEEN 1 AND 1000),
    replied_at     BIGINT,
    replied_by     BIGINT  REFERENCES staff (id),
    reply_seen_at  BIGINT,
    handled_at     BIGINT,
    created_at     BIGINT  NOT NULL,
    CHECK ((reply IS NULL) = (replied_at IS NULL)),
    CHECK (reply_seen_at IS NULL OR replied_at IS NOT NULL),
    CHECK (member_id IS NULL OR contact_phone IS NULL),
    FOREIGN KEY (brand_id, store_id) REFERENCES stores (brand_id, id),
    FOREIGN KEY (brand_id, member_id) REFERENCES members (brand_id, id)
);

-- One reward per member, store and day: the key makes a second one
-- impossible, whatever runs concurrently. store_key is the store's id, or
-- 0 for feedback that names no store.
CREATE TABLE feedback_rewards (
    member_id   BIGINT NOT NULL,
    store_key   BIGINT NOT NULL,
    day         TEXT   NOT NULL,
    feedback_id BIGINT NOT NULL REFERENCES feedback (id),
    PRIMARY KEY (member_id, store_key, day)
);

-- The hourly limits (per client address and per member): one counter per
-- subject and hour, raised by one conditional upsert, so parallel posts
-- cannot all slip under the limit.
CREATE TABLE feedback_limits (
    brand_id     BIGINT NOT NULL,
    subject      TEXT   NOT NULL,
    window_start BIGINT NOT NULL,
    sent         BIGINT NOT NULL CHECK (sent >= 1),
    PRIMARY KEY (brand_id, subject, window_start)
);

CREATE INDEX feedback_brand_idx ON feedback (brand_id, created_at);
CREATE INDEX feedback_member_idx ON feedback (member_id);
