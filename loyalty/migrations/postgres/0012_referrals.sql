-- Referrals (seed 001): every member has a code for a link and QR; a new
-- member who joins through it is linked to the member who invited them
-- (once: a member is referred at most once, never by themselves), and both
-- are rewarded once, after the new member's first purchase.

ALTER TABLE members ADD COLUMN referral_code TEXT CHECK (referral_code IS NULL OR char_length(referral_code) = 8);
CREATE UNIQUE INDEX members_referral_code_key ON members (brand_id, referral_code);

CREATE TABLE referrals (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id    BIGINT  NOT NULL,
    referrer_id BIGINT  NOT NULL,
    referred_id BIGINT  NOT NULL,
    created_at  BIGINT  NOT NULL,
    -- When the reward was given (the new member's first purchase seen).
    rewarded_at BIGINT,
    CONSTRAINT referrals_referred_key UNIQUE (referred_id),
    -- Never oneself, and the one who invites joined first: no loops.
    CONSTRAINT referrals_order CHECK (referrer_id < referred_id),
    FOREIGN KEY (brand_id, referrer_id) REFERENCES members (brand_id, id),
    FOREIGN KEY (brand_id, referred_id) REFERENCES members (brand_id, id)
);
CREATE INDEX referrals_referrer_idx ON referrals (referrer_id);
CREATE INDEX referrals_pending_idx ON referrals (brand_id) WHERE rewarded_at IS NULL;

-- The brand's referral reward: points for the member who invited and for
-- the friend, and optionally a coupon for the friend. All 0: no reward.
ALTER TABLE loyalty_rules ADD COLUMN referral_referrer_points BIGINT NOT NULL DEFAULT 0
    CHECK (referral_referrer_points BETWEEN 0 AND 100000);
ALTER TABLE loyalty_rules ADD COLUMN referral_friend_points BIGINT NOT NULL DEFAULT 0
    CHECK (referral_friend_points BETWEEN 0 AND 100000);
ALTER TABLE loyalty_rules ADD COLUMN referral_coupon BIGINT REFERENCES coupon_templates (id);

-- Segments and churn read every purchase of a brand grouped by member: this
-- covering index serves that pass in order, without a sort or table reads.
CREATE INDEX purchases_insight_idx ON purchases (brand_id, member_id, occurred_at, amount_fen, refunded_fen);

-- Campaigns: a coupon given to a segment of members at once (the members
-- list's filters or an RFM segment). Each coupon carries the campaign's
-- request key, so the report counts what was issued and redeemed.
CREATE TABLE campaigns (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id    BIGINT  NOT NULL REFERENCES brands (id),
    request_key TEXT    NOT NULL CHECK (char_length(request_key) BETWEEN 1 AND 100),
    template_id BIGINT  NOT NULL REFERENCES coupon_templates (id),
    audience    TEXT    NOT NULL CHECK (char_length(audience) <= 200),
    staff_id    BIGINT  NOT NULL REFERENCES staff (id),
    created_at  BIGINT  NOT NULL,
    -- An RFM campaign is queued with its members and given by the
    -- scheduler, a batch at a time; a members-list grant is done at once.
    state       TEXT    NOT NULL DEFAULT 'done' CHECK (state IN ('queued', 'done')),
    total       BIGINT  NOT NULL DEFAULT 0 CHECK (total >= 0),
    out_of_stock BIGINT NOT NULL DEFAULT 0 CHECK (out_of_stock IN (0, 1)),
    finished_at BIGINT,
    CONSTRAINT campaigns_request_key UNIQUE (request_key)
);

-- A queued campaign's members, each given (or skipped) once.
CREATE TABLE campaign_members (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    member_id   BIGINT NOT NULL REFERENCES members (id),
    state       TEXT   NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'issued', 'skipped')),
    PRIMARY KEY (campaign_id, member_id)
);
CREATE INDEX campaign_members_pending_idx ON campaign_members (campaign_id) WHERE state = 'pending';
CREATE INDEX campaigns_brand_idx ON campaigns (brand_id, id);
CREATE INDEX coupons_request_key_idx ON coupons (brand_id, request_key);
