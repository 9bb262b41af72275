-- A SQLite PRIMARY KEY that is not INTEGER PRIMARY KEY accepts NULL (a quirk
-- kept for compatibility), so a rules or logo row without a brand could be
-- written; PostgreSQL refuses it. Both tables are rebuilt with NOT NULL
-- (Db::migrate runs migrations with foreign keys off and checks them after).

CREATE TABLE loyalty_rules_new (
    brand_id                  BIGINT  NOT NULL PRIMARY KEY REFERENCES brands (id),
    earn_fen_per_point        BIGINT  NOT NULL DEFAULT 100 CHECK (earn_fen_per_point BETWEEN 1 AND 1000000),
    bonus_weekdays            TEXT    NOT NULL DEFAULT '' CHECK (length(bonus_weekdays) <= 20),
    bonus_dates               TEXT    NOT NULL DEFAULT '' CHECK (length(bonus_dates) <= 1100),
    bonus_multiplier_permille BIGINT  NOT NULL DEFAULT 2000 CHECK (bonus_multiplier_permille BETWEEN 1000 AND 10000),
    signup_bonus_points       BIGINT  NOT NULL DEFAULT 0 CHECK (signup_bonus_points BETWEEN 0 AND 1000000),
    expiry_months             BIGINT  DEFAULT 12 CHECK (expiry_months BETWEEN 1 AND 120),
    redeem_points_per_yuan    BIGINT  NOT NULL DEFAULT 100 CHECK (redeem_points_per_yuan BETWEEN 1 AND 100000),
    redeem_cap_pct            BIGINT  NOT NULL DEFAULT 50 CHECK (redeem_cap_pct BETWEEN 0 AND 100),
    feedback_points           BIGINT  NOT NULL DEFAULT 10 CHECK (feedback_points BETWEEN 0 AND 100000),
    feedback_coupon           BIGINT  REFERENCES coupon_templates (id),
    checkin_points            BIGINT  NOT NULL DEFAULT 0 CHECK (checkin_points BETWEEN 0 AND 10000),
    checkin_streak_days       BIGINT  NOT NULL DEFAULT 7 CHECK (checkin_streak_days BETWEEN 2 AND 31),
    checkin_streak_bonus      BIGINT  NOT NULL DEFAULT 0 CHECK (checkin_streak_bonus BETWEEN 0 AND 100000),
    referral_referrer_points  BIGINT  NOT NULL DEFAULT 0 CHECK (referral_referrer_points BETWEEN 0 AND 100000),
    referral_friend_points    BIGINT  NOT NULL DEFAULT 0 CHECK (referral_friend_points BETWEEN 0 AND 100000),
    referral_coupon           BIGINT  REFERENCES coupon_templates (id)
);
INSERT INTO loyalty_rules_new (brand_id, earn_fen_per_point, bonus_weekdays, bonus_dates, bonus_multiplier_permille,
        signup_bonus_points, expiry_months, redeem_points_per_yuan, redeem_cap_pct, feedback_points, feedback_coupon,
        checkin_points, checkin_streak_days, checkin_streak_bonus, referral_referrer_points, referral_friend_points,
        referral_coupon)
    SELECT brand_id, earn_fen_per_point, bonus_weekdays, bonus_dates, bonus_multiplier_permille,
        signup_bonus_points, expiry_months, redeem_points_per_yuan, redeem_cap_pct, feedback_points, feedback_coupon,
        checkin_points, checkin_streak_days, checkin_streak_bonus, referral_referrer_points, referral_friend_points,
        referral_coupon
    FROM loyalty_rules;
DROP TABLE loyalty_rules;
ALTER TABLE loyalty_rules_new RENAME TO loyalty_rules;

CREATE TABLE brand_logos_new (
    brand_id     BIGINT NOT NULL PRIMARY KEY REFERENCES brands (id),
    content_type TEXT   NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg', 'image/webp')),
    bytes        BLOB   NOT NULL CHECK (length(bytes) BETWEEN 1 AND 49152),
    updated_at   BIGINT NOT NULL
);
INSERT INTO brand_logos_new (brand_id, content_type, bytes, updated_at)
    SELECT brand_id, content_type, bytes, updated_at FROM brand_logos;
DROP TABLE brand_logos;
ALTER TABLE brand_logos_new RENAME TO brand_logos;
