-- Brand settings the owner edits in the console: the sites allowed to frame
-- the portal (sent as CSP frame-ancestors), and the brand's own member terms
-- (blank: the standard text).

ALTER TABLE brands ADD COLUMN embed_origins TEXT NOT NULL DEFAULT ''
    CHECK (char_length(embed_origins) <= 2000);
ALTER TABLE brands ADD COLUMN terms_text TEXT NOT NULL DEFAULT ''
    CHECK (char_length(terms_text) <= 20000);

-- The brand's logo (PNG, JPEG or WebP, at most 48 KB; never SVG, which can
-- carry script). brands.logo_version is 0 without one, else when it was
-- saved: pages ask for /r/{slug}/logo?v=… and may cache it for long.
ALTER TABLE brands ADD COLUMN logo_version BIGINT NOT NULL DEFAULT 0;

CREATE TABLE brand_logos (
    brand_id     BIGINT PRIMARY KEY REFERENCES brands (id),
    content_type TEXT   NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg', 'image/webp')),
    bytes        BYTEA  NOT NULL CHECK (octet_length(bytes) BETWEEN 1 AND 49152),
    updated_at   BIGINT NOT NULL
);

-- The signature SMS providers put in brackets before a code (短信签名, as
-- registered with the provider); empty: the brand's name.
ALTER TABLE brands ADD COLUMN sms_signature TEXT NOT NULL DEFAULT ''
    CHECK (char_length(sms_signature) <= 20);
