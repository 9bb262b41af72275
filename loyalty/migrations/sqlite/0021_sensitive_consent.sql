-- Allergies and dietary needs are sensitive personal information (PIPL
-- art. 28-29): kept only with the member's separate consent, which they
-- may withdraw (issue 21). The consent log learns the two new kinds;
-- SQLite cannot change a CHECK in place, so the log is rebuilt (Db::migrate
-- runs migrations with foreign keys off and checks them after).
-- Nobody was asked before: members who saved allergies or dietary needs
-- earlier are asked for consent the next time they save their profile.
ALTER TABLE members ADD COLUMN sensitive_consent_at BIGINT;

CREATE TABLE member_consents_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id   BIGINT  NOT NULL,
    member_id  BIGINT  NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('terms_accepted', 'marketing_granted', 'marketing_withdrawn',
                                                'sensitive_granted', 'sensitive_withdrawn')),
    version    TEXT    NOT NULL DEFAULT '',
    created_at BIGINT  NOT NULL,
    FOREIGN KEY (brand_id, member_id) REFERENCES members (brand_id, id)
);
INSERT INTO member_consents_new (id, brand_id, member_id, kind, version, created_at)
    SELECT id, brand_id, member_id, kind, version, created_at FROM member_consents;
DROP TABLE member_consents;
ALTER TABLE member_consents_new RENAME TO member_consents;
CREATE INDEX member_consents_member_idx ON member_consents (member_id);
