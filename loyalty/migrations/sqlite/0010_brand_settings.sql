-- Brand settings the owner edits in the console: the sites allowed to frame
-- the portal (sent as CSP frame-ancestors), and the brand's own member terms
-- (blank: the standard text).

ALTER TABLE brands ADD COLUMN embed_origins TEXT NOT NULL DEFAULT ''
    CHECK (length(embed_origins) <= 2000);
ALTER TABLE brands ADD COLUMN terms_text TEXT NOT NULL DEFAULT ''
    CHECK (length(terms_text) <= 20000);
