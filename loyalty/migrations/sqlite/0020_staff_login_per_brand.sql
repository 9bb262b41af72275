-- A staff login is unique within its brand, no longer across all brands
-- (issue 21): a "login taken" answer told one brand's owner another
-- brand's logins. Sign-in takes `login@brand` where a login is not unique.
-- SQLite cannot drop a table constraint: the table is rebuilt (Db::migrate
-- runs migrations with foreign keys off and checks them after).
CREATE TABLE staff_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id      BIGINT  NOT NULL REFERENCES brands (id),
    login         TEXT    NOT NULL CHECK (length(login) BETWEEN 3 AND 40),
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('owner', 'manager', 'cashier')),
    display_name  TEXT    NOT NULL DEFAULT '',
    created_at    BIGINT  NOT NULL,
    failed_logins BIGINT  NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until  BIGINT,
    active        BIGINT  NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    CONSTRAINT staff_login_key UNIQUE (brand_id, login)
);
INSERT INTO staff_new (id, brand_id, login, password_hash, role, display_name, created_at,
                       failed_logins, locked_until, active)
    SELECT id, brand_id, login, password_hash, role, display_name, created_at,
           failed_logins, locked_until, active FROM staff;
DROP TABLE staff;
ALTER TABLE staff_new RENAME TO staff;
CREATE INDEX staff_brand_idx ON staff (brand_id);
CREATE INDEX staff_login_idx ON staff (login);
