-- Text messages through real providers (issue 23): the templates a brand's
-- messages go out under, its sending rules and budget, and a record of
-- every send for the owner's figures (never the number or the text).

-- The provider's approved template per message and language: the sign-in
-- code (automation_id NULL) or an automation's message.
CREATE TABLE sms_templates (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id      BIGINT  NOT NULL REFERENCES brands (id),
    automation_id BIGINT,
    language      TEXT    NOT NULL CHECK (language IN ('zh-CN', 'zh-TW', 'en')),
    provider_code TEXT    NOT NULL CHECK (length(provider_code) <= 40),
    body          TEXT    NOT NULL CHECK (length(body) BETWEEN 1 AND 400),
    updated_at    BIGINT  NOT NULL,
    FOREIGN KEY (brand_id, automation_id) REFERENCES automations (brand_id, id)
);
CREATE UNIQUE INDEX sms_templates_sign_in_key ON sms_templates (brand_id, language)
    WHERE automation_id IS NULL;
CREATE UNIQUE INDEX sms_templates_automation_key ON sms_templates (automation_id, language)
    WHERE automation_id IS NOT NULL;

-- Sending hours for marketing (minutes of the local day, never outside
-- 09:00–21:00), the daily caps and the price per 100 segments.
CREATE TABLE sms_settings (
    brand_id      BIGINT NOT NULL PRIMARY KEY REFERENCES brands (id),
    window_start  BIGINT NOT NULL DEFAULT 540 CHECK (window_start >= 540),
    window_end    BIGINT NOT NULL DEFAULT 1260 CHECK (window_end <= 1260),
    marketing_cap BIGINT NOT NULL DEFAULT 1000 CHECK (marketing_cap BETWEEN 0 AND 1000000),
    sign_in_cap   BIGINT CHECK (sign_in_cap BETWEEN 0 AND 1000000),
    fen_per_100   BIGINT NOT NULL DEFAULT 450 CHECK (fen_per_100 BETWEEN 0 AND 100000),
    CHECK (window_start < window_end)
);

CREATE TABLE sms_sends (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id   BIGINT  NOT NULL REFERENCES brands (id),
    purpose    TEXT    NOT NULL CHECK (purpose IN ('sign_in', 'marketing')),
    outcome    TEXT    NOT NULL CHECK (outcome IN ('sent', 'transient', 'unreachable', 'limited', 'refused')),
    reason     TEXT    NOT NULL DEFAULT '' CHECK (length(reason) <= 80),
    segments   BIGINT  NOT NULL CHECK (segments BETWEEN 0 AND 20),
    created_at BIGINT  NOT NULL,
    CHECK ((outcome = 'sent') = (reason = ''))
);
CREATE INDEX sms_sends_brand_idx ON sms_sends (brand_id, created_at);
