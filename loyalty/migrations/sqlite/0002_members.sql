-- Members: join by phone and one-time code, sessions, profile, consent and
-- erasure. SQLite cannot relax a NOT NULL in place, so `members` is rebuilt;
-- an erased member keeps its row (the ledger will point at it) with every
-- personal field cleared and the phone free to join again.

ALTER TABLE brands ADD COLUMN terms_version TEXT NOT NULL DEFAULT '2026-11-25'
    CHECK (length(terms_version) BETWEEN 1 AND 20);

CREATE TABLE members_v2 (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id             BIGINT  NOT NULL REFERENCES brands (id),
    member_no            TEXT    NOT NULL CHECK (length(member_no) = 8 AND member_no NOT GLOB '*[^0-9]*'),
    phone                TEXT    CHECK (phone GLOB '+[1-9]*' AND length(phone) BETWEEN 8 AND 16),
    display_name         TEXT    NOT NULL DEFAULT '' CHECK (length(display_name) <= 40),
    birthday_month       INTEGER CHECK (birthday_month BETWEEN 1 AND 12),
    birthday_day         INTEGER CHECK (birthday_day BETWEEN 1 AND 31),
    birth_year           INTEGER CHECK (birth_year BETWEEN 1900 AND 2100),
    gender               TEXT    NOT NULL DEFAULT 'unspecified'
                         CHECK (gender IN ('unspecified', 'female', 'male', 'other')),
    dietary              TEXT    NOT NULL DEFAULT '' CHECK (length(dietary) <= 200),
    allergies            TEXT    NOT NULL DEFAULT '' CHECK (length(allergies) <= 200),
    language             TEXT    CHECK (language IN ('zh-CN', 'zh-TW', 'en')),
    terms_version        TEXT    NOT NULL,
    terms_accepted_at    BIGINT  NOT NULL,
    marketing_consent_at BIGINT,
    status               TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'erased')),
    erased_at            BIGINT,
    created_at           BIGINT  NOT NULL,
    CONSTRAINT members_brand_phone_key UNIQUE (brand_id, phone),
    CONSTRAINT members_brand_no_key UNIQUE (brand_id, member_no),
    CONSTRAINT members_brand_id_key UNIQUE (brand_id, id),
    -- Only an erased member has no phone, and an erased member has nothing else.
    CONSTRAINT members_erased CHECK (
        (status = 'active' AND phone IS NOT NULL AND erased_at IS NULL)
        OR (status = 'erased' AND phone IS NULL AND erased_at IS NOT NULL
            AND display_name = '' AND birthday_month IS NULL AND birth_year IS NULL
            AND dietary = '' AND allergies = '' AND marketing_consent_at IS NULL
            AND gender = 'unspecified' AND language IS NULL)),
    CONSTRAINT members_birthday CHECK (
        (birthday_month IS NULL AND birthday_day IS NULL)
        OR (birthday_month IS NOT NULL AND birthday_day IS NOT NULL))
);

INSERT INTO members_v2 (id, brand_id, member_no, phone, display_name, terms_version, terms_accepted_at, created_at)
    SELECT id, brand_id, member_no, phone, display_name, '', created_at, created_at FROM members;
DROP TABLE members;
ALTER TABLE members_v2 RENAME TO members;

-- Every grant and withdrawal of consent, for PIPL: who agreed to what, when.
CREATE TABLE member_consents (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
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
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id   BIGINT  NOT NULL REFERENCES brands (id),
    phone      TEXT    NOT NULL,
    client_ip  TEXT    NOT NULL CHECK (length(client_ip) <= 64),
    code_hash  TEXT    NOT NULL CHECK (length(code_hash) = 64),
    attempts   INTEGER NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND 5),
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL CHECK (expires_at > created_at),
    used_at    BIGINT
);

-- A signed-in phone. Only the SHA-256 of the cookie's token is stored.
CREATE TABLE member_sessions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id     BIGINT  NOT NULL,
    member_id    BIGINT  NOT NULL,
    token_hash   TEXT    NOT NULL CHECK (length(token_hash) = 64),
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
