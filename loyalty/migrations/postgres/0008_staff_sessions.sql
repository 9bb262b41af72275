-- Staff sign-in: sessions of their own (separate from members'), a lockout
-- after repeated wrong passwords, and the stores a manager or cashier works in.

ALTER TABLE staff ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0 CHECK (failed_logins >= 0);
ALTER TABLE staff ADD COLUMN locked_until BIGINT;
ALTER TABLE staff ADD COLUMN active BIGINT NOT NULL DEFAULT 1 CHECK (active IN (0, 1));

CREATE TABLE staff_stores (
    brand_id  BIGINT NOT NULL,
    staff_id  BIGINT NOT NULL REFERENCES staff (id),
    store_id  BIGINT NOT NULL,
    PRIMARY KEY (staff_id, store_id),
    FOREIGN KEY (brand_id, store_id) REFERENCES stores (brand_id, id)
);

CREATE TABLE staff_sessions (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id     BIGINT  NOT NULL REFERENCES brands (id),
    staff_id     BIGINT  NOT NULL REFERENCES staff (id),
    token_hash   TEXT    NOT NULL CHECK (char_length(token_hash) = 64),
    created_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL CHECK (expires_at > created_at),
    ended_at     BIGINT,
    CONSTRAINT staff_sessions_token_key UNIQUE (token_hash)
);

CREATE INDEX staff_sessions_staff_idx ON staff_sessions (staff_id);
