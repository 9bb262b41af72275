-- Welcome gifts and referral rewards go to a phone once per brand, even
-- after the account is deleted and the phone joins again (issue 21). The
-- phone is not kept: only an HMAC of brand and number under the server's
-- secret, refreshed each time the phone signs in and forgotten two years
-- after that (docs/security.md, PIPL).
CREATE TABLE welcomed_phones (
    brand_id   BIGINT NOT NULL REFERENCES brands (id),
    phone_key  TEXT   NOT NULL CHECK (length(phone_key) = 64),
    seen_at    BIGINT NOT NULL,
    PRIMARY KEY (brand_id, phone_key)
);

-- Whether this membership got the welcome (signup bonus, welcome coupons,
-- join automations, a referral); 0 for a phone that had it before.
ALTER TABLE members ADD COLUMN welcomed BIGINT NOT NULL DEFAULT 1 CHECK (welcomed IN (0, 1));
