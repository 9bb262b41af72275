-- Members: join by phone and one-time code, sessions, profile, consent and
-- erasure. An erased member keeps its row (the ledger will point at it) with
-- every personal field cleared and the phone free to join again.

ALTER TABLE brands ADD COLUMN terms_version TEXT NOT NULL DEFAULT '2026-11-25'
    CHECK (char_length(terms_version) BETWEEN 1 AND 20);

ALTER TABLE members
    ALTER COLUMN phone DROP NOT NULL,
    ADD CONSTRAINT members_no_format CHECK (member_no ~ '^[0-9]{8}$'),
    ADD COLUMN birthday_month       BIGINT CHECK (birthday_month BETWEEN 1 AND 12),
    ADD COLUMN birthday_day         BIGINT CHECK (birthday_day BETWEEN 1 AND 31),
    ADD COLUMN birth_year           BIGINT CHECK (birth_year BETWEEN 1900 AND 2100),
    ADD COLUMN gender               TEXT    NOT NULL DEFAULT 'unspecified'
                                    CHECK (gender IN ('unspecified', 'female', 'male', 'other')),
    ADD COLUMN dietary              TEXT    NOT NULL DEFAULT '' CHECK (char_length(dietary) <= 200),
    ADD COLUMN allergies            TEXT    NOT NULL DEFAULT '' CHECK (char_length(allergies) <= 200),
    ADD COLUMN language             TEXT    CHECK (language IN ('zh-CN', 'zh-TW', 'en')),
    ADD COLUMN terms_version        TEXT    NOT NULL DEFAULT '',
    ADD COLUMN terms_accepted_at    BIGINT  NOT NULL DEFAULT 0,
    ADD COLUMN marketing_consent_at BIGINT,
    ADD COLUMN status               TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'erased')),
    ADD COLUMN erased_at            BIGINT,
    ADD CONSTRAINT members_brand_id_key UNIQUE (brand_id, id),
    -- Only an erased member has no phone, and an erased member has nothing else.
    ADD CONSTRAINT members_erased CHECK (
        (status = 'active' AND phone IS NOT NULL AND erased_at IS NULL)
        OR (status = 'erased' AND phone IS NULL AND erased_at IS NOT NULL
            AND display_name = '' AND birthday_month IS NULL AND birth_year IS NULL
            AND dietary = '' AND allergies = '' AND marketing_consent_at IS NULL
            AND gender = 'unspecified' AND language IS NULL)),
    ADD CONSTRAINT members_birthday CHECK (
        (birthday_month IS NULL AND birthday_day IS NULL)
        OR (birthday_month IS NOT NULL AND birthday_day IS NOT NULL));
ALTER TABLE members ALTER COLUMN terms_version DROP DEFAULT, ALTER COLUMN terms_accepted_at DROP DEFAULT;

-- Every grant and withdrawal of consent, for PIPL: who agreed to what, when.
CREATE TABLE member_consents (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id   BIGINT  NOT NULL,
    member_id  BIGINT  NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('terms_accepted', 'marketing_granted', 'marketing_withdrawn')),
    version    TEXT    NOT NULL DEFAULT '',
    created_at BIGINT  NOT NULL,
    FOREIGN KEY (brand_id, member_id) REFERENCES members (brand_id, id)
);

-- One-time sign-in codes, stored as keyed hashes. Rows stay for an hour or
-- more: they are also the counters of the per-phone and per-IP limits.
CREATE TABLE login_codes (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id   BIGINT  NOT NULL REFERENCES brands (id),
    phone      TEXT    NOT NULL,
    client_ip  TEXT    NOT NULL CHECK (char_length(client_ip) <= 64),
    code_hash  TEXT    NOT NULL CHECK (char_length(code_hash) = 64),
    attempts   BIGINT  NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND 5),
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL CHECK (expires_at > created_at),
    used_at    BIGINT
);

-- A signed-in phone. Only the SHA-256 of the cookie's token is stored.
CREATE TABLE member_sessions (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id     BIGINT  NOT NULL,
    member_id    BIGINT  NOT NULL,
    token_hash   TEXT    NOT NULL CHECK (char_length(token_hash) = 64),
    created_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL CHECK (expires_at > created_at),
    ended_at     BIGINT,
    CONSTRAINT member_sessions_token_key UNIQUE (token_hash),
    FOREIGN KEY (brand_id, member_id) REFERENCES members (brand_id, id)
);

CREATE INDEX member_consents_member_idx ON member_consents (member_id);
CREATE INDEX login_codes_phone_idx ON login_codes (phone, created_at);
CREATE INDEX login_codes_ip_idx ON login_codes (client_ip, created_at);
CREATE INDEX member_sessions_member_idx ON member_sessions (member_id);
