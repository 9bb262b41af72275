-- A brand's codes of the last 24 hours are its SMS budget (issue 21):
-- counted on every code sent, and on the dashboard.
CREATE INDEX login_codes_brand_idx ON login_codes (brand_id, created_at);
