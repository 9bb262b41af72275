-- The POS API: store API keys (only their SHA-256 is kept) and the
-- idempotency records that make every POST safe to retry.

CREATE TABLE api_keys (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id     BIGINT  NOT NULL,
    store_id     BIGINT  NOT NULL,
    name         TEXT    NOT NULL CHECK (char_length(name) BETWEEN 1 AND 60),
    prefix       TEXT    NOT NULL CHECK (char_length(prefix) = 12),
    key_hash     TEXT    NOT NULL CHECK (char_length(key_hash) = 64),
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT,
    CONSTRAINT api_keys_hash_key UNIQUE (key_hash),
    FOREIGN KEY (brand_id, store_id) REFERENCES stores (brand_id, id)
);

CREATE TABLE idempotency_keys (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    api_key_id    BIGINT  NOT NULL REFERENCES api_keys (id),
    idem_key      TEXT    NOT NULL CHECK (char_length(idem_key) BETWEEN 1 AND 255),
    request_hash  TEXT    NOT NULL CHECK (char_length(request_hash) = 64),
    status        BIGINT  CHECK (status BETWEEN 100 AND 599),
    response_body TEXT,
    created_at    BIGINT  NOT NULL,
    completed_at  BIGINT,
    CHECK ((completed_at IS NULL) = (status IS NULL)),
    CONSTRAINT idempotency_keys_key UNIQUE (api_key_id, idem_key)
);

CREATE INDEX api_keys_store_idx ON api_keys (store_id);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
