-- Points and tiers: the brand's rules, its tier table, the append-only
-- points ledger with its lots, purchases, refunds and points redemptions.
-- Money is integer fen; rates are integers (permille, percent) so no
-- rounding ever depends on floating point.

CREATE TABLE loyalty_rules (
    brand_id                 BIGINT  PRIMARY KEY REFERENCES brands (id),
    -- Earning: one point per this many fen paid (100 = 1 point per ¥1), rounded down.
    earn_fen_per_point       BIGINT  NOT NULL DEFAULT 100 CHECK (earn_fen_per_point BETWEEN 1 AND 1000000),
    -- Double-points days: ISO weekdays (1 = Monday … 7 = Sunday) and dates (YYYY-MM-DD), comma-separated.
    bonus_weekdays           TEXT    NOT NULL DEFAULT '' CHECK (char_length(bonus_weekdays) <= 20),
    bonus_dates              TEXT    NOT NULL DEFAULT '' CHECK (char_length(bonus_dates) <= 1100),
    bonus_multiplier_permille BIGINT NOT NULL DEFAULT 2000 CHECK (bonus_multiplier_permille BETWEEN 1000 AND 10000),
    signup_bonus_points      BIGINT  NOT NULL DEFAULT 0 CHECK (signup_bonus_points BETWEEN 0 AND 1000000),
    -- Points expire at the end of the Nth month after the month they were earned; NULL: never.
    expiry_months            BIGINT  DEFAULT 12 CHECK (expiry_months BETWEEN 1 AND 120),
    -- Points as payment (积分抵现): this many points are worth ¥1, at most cap_pct of a bill.
    redeem_points_per_yuan   BIGINT  NOT NULL DEFAULT 100 CHECK (redeem_points_per_yuan BETWEEN 1 AND 100000),
    redeem_cap_pct           BIGINT  NOT NULL DEFAULT 50 CHECK (redeem_cap_pct BETWEEN 0 AND 100)
);

CREATE TABLE tiers (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id            BIGINT  NOT NULL REFERENCES brands (id),
    code                TEXT    NOT NULL CHECK (code ~ '^[a-z0-9_]{1,20}$'),
    rank                BIGINT  NOT NULL CHECK (rank BETWEEN 0 AND 20),
    name_zh_cn          TEXT    NOT NULL CHECK (char_length(name_zh_cn) BETWEEN 1 AND 20),
    name_zh_tw          TEXT    NOT NULL CHECK (char_length(name_zh_tw) BETWEEN 1 AND 20),
    name_en             TEXT    NOT NULL CHECK (char_length(name_en) BETWEEN 1 AND 30),
    -- Qualifying spend in the last 12 months that reaches this tier.
    threshold_fen       BIGINT  NOT NULL CHECK (threshold_fen >= 0),
    discount_pct        BIGINT  NOT NULL CHECK (discount_pct BETWEEN 0 AND 100),
    multiplier_permille BIGINT  NOT NULL CHECK (multiplier_permille BETWEEN 1000 AND 10000),
    CONSTRAINT tiers_brand_code_key UNIQUE (brand_id, code),
    CONSTRAINT tiers_brand_rank_key UNIQUE (brand_id, rank),
    -- The base tier (rank 0) is where everyone starts: it needs no spend.
    CONSTRAINT tiers_base_is_free CHECK (rank > 0 OR threshold_fen = 0)
);

-- Members carry their balance and tier for fast reads; the ledger is the truth.
ALTER TABLE members ADD COLUMN points_balance BIGINT NOT NULL DEFAULT 0 CHECK (points_balance >= 0);
ALTER TABLE members ADD COLUMN tier_rank BIGINT NOT NULL DEFAULT 0 CHECK (tier_rank >= 0);

CREATE TABLE purchases (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id       BIGINT  NOT NULL,
    store_id       BIGINT  NOT NULL,
    member_id      BIGINT  NOT NULL,
    order_id       TEXT    NOT NULL CHECK (char_length(order_id) BETWEEN 1 AND 100),
    amount_fen     BIGINT  NOT NULL CHECK (amount_fen > 0 AND amount_fen <= 100000000000),
    refunded_fen   BIGINT  NOT NULL DEFAULT 0 CHECK (refunded_fen >= 0 AND refunded_fen <= amount_fen),
    points_earned  BIGINT  NOT NULL CHECK (points_earned >= 0),
    occurred_at    BIGINT  NOT NULL,
    created_at     BIGINT  NOT NULL,
    CONSTRAINT purchases_store_order_key UNIQUE (store_id, order_id),
    FOREIGN KEY (brand_id, store_id) REFERENCES stores (brand_id, id),
    FOREIGN KEY (brand_id, member_id) REFERENCES members (brand_id, id)
);

CREATE TABLE refunds (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id        BIGINT  NOT NULL REFERENCES brands (id),
    purchase_id     BIGINT  NOT NULL REFERENCES purchases (id),
    refund_id       TEXT    NOT NULL CHECK (char_length(refund_id) BETWEEN 1 AND 100),
    amount_fen      BIGINT  NOT NULL CHECK (amount_fen > 0),
    -- The purchase's points in proportion to this refund, and what could be
    -- taken back (less when the member had already spent them).
    points_due      BIGINT  NOT NULL CHECK (points_due >= 0),
    points_reversed BIGINT  NOT NULL CHECK (points_reversed >= 0 AND points_reversed <= points_due),
    created_at      BIGINT  NOT NULL,
    CONSTRAINT refunds_purchase_refund_key UNIQUE (purchase_id, refund_id)
);

CREATE TABLE point_redemptions (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id    BIGINT  NOT NULL,
    store_id    BIGINT  NOT NULL,
    member_id   BIGINT  NOT NULL,
    order_id    TEXT    NOT NULL CHECK (char_length(order_id) BETWEEN 1 AND 100),
    points      BIGINT  NOT NULL CHECK (points > 0),
    value_fen   BIGINT  NOT NULL CHECK (value_fen >= 0),
    status      TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'voided')),
    created_at  BIGINT  NOT NULL,
    voided_at   BIGINT,
    CHECK ((status = 'voided') = (voided_at IS NOT NULL)),
    FOREIGN KEY (brand_id, store_id) REFERENCES stores (brand_id, id),
    FOREIGN KEY (brand_id, member_id) REFERENCES members (brand_id, id)
);

-- Every change of a member's points, append-only. The sum of a member's
-- rows is their balance.
CREATE TABLE points_ledger (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id    BIGINT  NOT NULL,
    member_id   BIGINT  NOT NULL,
    store_id    BIGINT,
    kind        TEXT    NOT NULL CHECK (kind IN ('earn', 'spend', 'expire', 'adjust', 'reverse')),
    amount      BIGINT  NOT NULL CHECK (amount <> 0),
    reason      TEXT    NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 200),
    ref_type    TEXT    CHECK (ref_type IN ('purchase', 'refund', 'redemption', 'redemption_void', 'signup', 'lot')),
    ref_id      BIGINT,
    created_at  BIGINT  NOT NULL,
    -- Earning adds, spending and expiry take away.
    CHECK ((kind = 'earn' AND amount > 0) OR (kind IN ('spend', 'expire') AND amount < 0)
           OR kind IN ('adjust', 'reverse')),
    FOREIGN KEY (brand_id, member_id) REFERENCES members (brand_id, id)
);

-- Earned points, each lot with its expiry; spending takes from the lot that
-- expires first. Sum of remaining == balance.
CREATE TABLE points_lots (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id    BIGINT  NOT NULL,
    member_id   BIGINT  NOT NULL,
    ledger_id   BIGINT  NOT NULL REFERENCES points_ledger (id),
    purchase_id BIGINT  REFERENCES purchases (id),
    earned      BIGINT  NOT NULL CHECK (earned > 0),
    remaining   BIGINT  NOT NULL CHECK (remaining >= 0 AND remaining <= earned),
    expires_at  BIGINT,
    created_at  BIGINT  NOT NULL,
    FOREIGN KEY (brand_id, member_id) REFERENCES members (brand_id, id)
);

-- Which lots a spend, expiry or reversal took its points from, so a void
-- can put them back where they were and FIFO can be checked.
CREATE TABLE points_lot_moves (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ledger_id   BIGINT  NOT NULL REFERENCES points_ledger (id),
    lot_id      BIGINT  NOT NULL REFERENCES points_lots (id),
    amount      BIGINT  NOT NULL CHECK (amount > 0)
);

CREATE TABLE tier_changes (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id    BIGINT  NOT NULL,
    member_id   BIGINT  NOT NULL,
    from_rank   BIGINT  NOT NULL,
    to_rank     BIGINT  NOT NULL CHECK (to_rank <> from_rank),
    reason      TEXT    NOT NULL CHECK (reason IN ('purchase', 'review')),
    spend_fen   BIGINT  NOT NULL,
    created_at  BIGINT  NOT NULL,
    FOREIGN KEY (brand_id, member_id) REFERENCES members (brand_id, id)
);

CREATE INDEX purchases_member_idx ON purchases (member_id, occurred_at);
CREATE INDEX point_redemptions_member_idx ON point_redemptions (member_id);
CREATE INDEX points_ledger_member_idx ON points_ledger (member_id, id);
CREATE INDEX points_lots_member_idx ON points_lots (member_id, expires_at);
CREATE INDEX points_lots_expiry_idx ON points_lots (expires_at);
CREATE INDEX points_lot_moves_ledger_idx ON points_lot_moves (ledger_id);
CREATE INDEX tier_changes_member_idx ON tier_changes (member_id);

-- Every existing brand gets the default rules and the five tiers of seed 003.
INSERT INTO loyalty_rules (brand_id) SELECT id FROM brands;
INSERT INTO tiers (brand_id, code, rank, name_zh_cn, name_zh_tw, name_en, threshold_fen, discount_pct, multiplier_permille)
    SELECT id, 'base', 0, '普通会员', '普通會員', 'Member', 0, 0, 1000 FROM brands;
INSERT INTO tiers (brand_id, code, rank, name_zh_cn, name_zh_tw, name_en, threshold_fen, discount_pct, multiplier_permille)
    SELECT id, 'silver', 1, '银卡会员', '銀卡會員', 'Silver', 100000, 5, 1200 FROM brands;
INSERT INTO tiers (brand_id, code, rank, name_zh_cn, name_zh_tw, name_en, threshold_fen, discount_pct, multiplier_permille)
    SELECT id, 'gold', 2, '金卡会员', '金卡會員', 'Gold', 500000, 8, 1500 FROM brands;
INSERT INTO tiers (brand_id, code, rank, name_zh_cn, name_zh_tw, name_en, threshold_fen, discount_pct, multiplier_permille)
    SELECT id, 'platinum', 3, '白金会员', '白金會員', 'Platinum', 1000000, 10, 1800 FROM brands;
INSERT INTO tiers (brand_id, code, rank, name_zh_cn, name_zh_tw, name_en, threshold_fen, discount_pct, multiplier_permille)
    SELECT id, 'diamond', 4, '钻石会员', '鑽石會員', 'Diamond', 2000000, 12, 2000 FROM brands;
