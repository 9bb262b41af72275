-- Coupons: a brand's templates (the rule), the coupons issued from them to
-- members (each with its own code) and their redemptions at the till.
-- Money is integer fen. Stock and per-member limits are enforced here too,
-- so no code path can oversell.

CREATE TABLE coupon_templates (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id         BIGINT  NOT NULL REFERENCES brands (id),
    -- 满减 amount_off, 折扣 percent_off, 代金券 voucher, 赠品 gift.
    kind             TEXT    NOT NULL CHECK (kind IN ('amount_off', 'percent_off', 'voucher', 'gift')),
    -- The bill must be at least this much (满200: 20000).
    threshold_fen    BIGINT  NOT NULL DEFAULT 0 CHECK (threshold_fen BETWEEN 0 AND 100000000000),
    amount_off_fen   BIGINT  CHECK (amount_off_fen BETWEEN 1 AND 100000000000),
    percent_off      BIGINT  CHECK (percent_off BETWEEN 1 AND 99),
    max_off_fen      BIGINT  CHECK (max_off_fen BETWEEN 1 AND 100000000000),
    gift_item        TEXT    CHECK (length(gift_item) BETWEEN 1 AND 60),
    -- Validity: fixed instants, or N days from issue.
    starts_at        BIGINT,
    ends_at          BIGINT,
    valid_days       BIGINT  CHECK (valid_days BETWEEN 1 AND 3660),
    -- When in the week and day it may be used, in the brand's time zone:
    -- ISO weekdays '3' or '1,2,3', '' for every day; minutes after midnight.
    weekdays         TEXT    NOT NULL DEFAULT '' CHECK (length(weekdays) <= 13 AND weekdays NOT GLOB '*[^1-7,]*'),
    from_minute      BIGINT  CHECK (from_minute BETWEEN 0 AND 1439),
    until_minute     BIGINT  CHECK (until_minute BETWEEN 1 AND 1440),
    -- 1: every store of the brand; 0: only those in coupon_template_stores.
    all_stores       BIGINT  NOT NULL DEFAULT 1 CHECK (all_stores IN (0, 1)),
    min_tier_rank    BIGINT  NOT NULL DEFAULT 0 CHECK (min_tier_rank BETWEEN 0 AND 20),
    stock_total      BIGINT  CHECK (stock_total >= 0),
    stock_issued     BIGINT  NOT NULL DEFAULT 0 CHECK (stock_issued >= 0),
    per_member_limit BIGINT  CHECK (per_member_limit BETWEEN 1 AND 1000),
    stacks_with_tier BIGINT  NOT NULL DEFAULT 0 CHECK (stacks_with_tier IN (0, 1)),
    -- Free in the claim centre, for points in it, given on joining.
    claimable        BIGINT  NOT NULL DEFAULT 0 CHECK (claimable IN (0, 1)),
    points_price     BIGINT  CHECK (points_price BETWEEN 1 AND 100000000),
    welcome          BIGINT  NOT NULL DEFAULT 0 CHECK (welcome IN (0, 1)),
    active           BIGINT  NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at       BIGINT  NOT NULL,
    CONSTRAINT coupon_templates_brand_id_key UNIQUE (brand_id, id),
    -- Never more issued than the stock.
    CHECK (stock_total IS NULL OR stock_issued <= stock_total),
    -- Each kind carries exactly what its rule needs.
    CHECK ((kind = 'amount_off' AND amount_off_fen IS NOT NULL AND threshold_fen > 0 AND percent_off IS NULL AND gift_item IS NULL)
        OR (kind = 'voucher' AND amount_off_fen IS NOT NULL AND percent_off IS NULL AND gift_item IS NULL)
        OR (kind = 'percent_off' AND percent_off IS NOT NULL AND amount_off_fen IS NULL AND gift_item IS NULL)
        OR (kind = 'gift' AND gift_item IS NOT NULL AND amount_off_fen IS NULL AND percent_off IS NULL)),
    CHECK (max_off_fen IS NULL OR kind = 'percent_off'),
    -- Either a fixed end or a number of days, never neither.
    CHECK ((valid_days IS NULL) <> (ends_at IS NULL)),
    CHECK (starts_at IS NULL OR ends_at IS NULL OR starts_at < ends_at),
    CHECK ((from_minute IS NULL) = (until_minute IS NULL)),
    CHECK (from_minute IS NULL OR from_minute < until_minute)
);

CREATE TABLE coupon_template_stores (
    brand_id    BIGINT NOT NULL,
    template_id BIGINT NOT NULL,
    store_id    BIGINT NOT NULL,
    PRIMARY KEY (template_id, store_id),
    FOREIGN KEY (brand_id, template_id) REFERENCES coupon_templates (brand_id, id),
    FOREIGN KEY (brand_id, store_id) REFERENCES stores (brand_id, id)
);

CREATE TABLE coupons (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id       BIGINT  NOT NULL,
    template_id    BIGINT  NOT NULL,
    member_id      BIGINT  NOT NULL,
    -- 10 characters of an alphabet without look-alikes, about 49 bits.
    code           TEXT    NOT NULL UNIQUE CHECK (length(code) = 10 AND code NOT GLOB '*[^23456789ABCDEFGHJKMNPQRSTVWXYZ]*'),
    source         TEXT    NOT NULL CHECK (source IN ('claim', 'exchange', 'welcome', 'birthday', 'tier_up',
                                                      'referral', 'feedback', 'staff', 'campaign', 'api')),
    -- The member's n-th coupon of this template: with the unique key below,
    -- a per-member limit holds even if two claims race.
    seq            BIGINT  NOT NULL CHECK (seq >= 1),
    -- The form submission or API request that issued it: a double tap
    -- finds the coupon its first tap issued.
    request_key    TEXT    CHECK (length(request_key) BETWEEN 1 AND 100),
    -- Points paid for it (exchange), as the ledger row that took them.
    points_paid    BIGINT  NOT NULL DEFAULT 0 CHECK (points_paid >= 0),
    ledger_id      BIGINT  REFERENCES points_ledger (id),
    valid_from     BIGINT  NOT NULL,
    valid_until    BIGINT  NOT NULL,
    status         TEXT    NOT NULL DEFAULT 'available' CHECK (status IN ('available', 'redeemed')),
    issued_at      BIGINT  NOT NULL,
    CONSTRAINT coupons_member_seq_key UNIQUE (template_id, member_id, seq),
    CONSTRAINT coupons_request_key UNIQUE (member_id, request_key),
    CHECK (valid_from < valid_until),
    CHECK ((source = 'exchange') = (ledger_id IS NOT NULL)),
    FOREIGN KEY (brand_id, template_id) REFERENCES coupon_templates (brand_id, id),
    FOREIGN KEY (brand_id, member_id) REFERENCES members (brand_id, id)
);

CREATE TABLE coupon_redemptions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id     BIGINT  NOT NULL,
    store_id     BIGINT  NOT NULL,
    coupon_id    BIGINT  NOT NULL REFERENCES coupons (id),
    order_id     TEXT    NOT NULL CHECK (length(order_id) BETWEEN 1 AND 100),
    bill_fen     BIGINT  NOT NULL CHECK (bill_fen > 0),
    discount_fen BIGINT  NOT NULL CHECK (discount_fen >= 0 AND discount_fen <= bill_fen),
    status       TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'voided')),
    created_at   BIGINT  NOT NULL,
    voided_at    BIGINT,
    CHECK ((status = 'voided') = (voided_at IS NOT NULL)),
    FOREIGN KEY (brand_id, store_id) REFERENCES stores (brand_id, id)
);

-- A coupon is redeemed at most once at a time, whatever the code path.
CREATE UNIQUE INDEX coupon_redemptions_one_active ON coupon_redemptions (coupon_id) WHERE status = 'active';
CREATE INDEX coupons_member_idx ON coupons (member_id, valid_until);
CREATE INDEX coupons_template_idx ON coupons (template_id);
CREATE INDEX coupon_templates_brand_idx ON coupon_templates (brand_id);
