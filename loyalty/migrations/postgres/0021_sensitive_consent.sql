-- Allergies and dietary needs are sensitive personal information (PIPL
-- art. 28-29): kept only with the member's separate consent, which they
-- may withdraw (issue 21). The consent log learns the two new kinds.
-- Nobody was asked before: members who saved allergies or dietary needs
-- earlier are asked for consent the next time they save their profile.
ALTER TABLE members ADD COLUMN sensitive_consent_at BIGINT;

ALTER TABLE member_consents DROP CONSTRAINT member_consents_kind_check;
ALTER TABLE member_consents ADD CONSTRAINT member_consents_kind_check
    CHECK (kind IN ('terms_accepted', 'marketing_granted', 'marketing_withdrawn',
                    'sensitive_granted', 'sensitive_withdrawn'));
