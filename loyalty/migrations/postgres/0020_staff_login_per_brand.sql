-- A staff login is unique within its brand, no longer across all brands
-- (issue 21): a "login taken" answer told one brand's owner another
-- brand's logins. Sign-in takes `login@brand` where a login is not unique.
ALTER TABLE staff DROP CONSTRAINT staff_login_key;
ALTER TABLE staff ADD CONSTRAINT staff_login_key UNIQUE (brand_id, login);
CREATE INDEX staff_login_idx ON staff (login);
