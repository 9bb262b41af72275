-- Tenancy: brand -> stores -> tables, plus the first member and staff rows.
-- Times are Unix milliseconds (UTC) in BIGINT, identical on both backends.

CREATE TABLE brands (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    slug           TEXT    NOT NULL,
    name           TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    theme_color    TEXT    NOT NULL DEFAULT '#b4442b'
                   CHECK (length(theme_color) = 7 AND theme_color GLOB '#[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
    default_locale TEXT    NOT NULL DEFAULT 'zh-CN' CHECK (default_locale IN ('zh-CN', 'zh-TW', 'en')),
    time_zone      TEXT    NOT NULL DEFAULT 'Asia/Shanghai',
    created_at     BIGINT  NOT NULL,
    CONSTRAINT brands_slug_key UNIQUE (slug),
    CONSTRAINT brands_slug_format CHECK (length(slug) BETWEEN 2 AND 40 AND slug NOT GLOB '*[^a-z0-9-]*')
);

CREATE TABLE stores (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id   BIGINT  NOT NULL REFERENCES brands (id),
    code       TEXT    NOT NULL CHECK (length(code) BETWEEN 1 AND 20),
    name       TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    address    TEXT    NOT NULL DEFAULT '',
    created_at BIGINT  NOT NULL,
    CONSTRAINT stores_brand_code_key UNIQUE (brand_id, code),
    CONSTRAINT stores_brand_id_key UNIQUE (brand_id, id)
);

CREATE TABLE dining_tables (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id   BIGINT  NOT NULL,
    store_id   BIGINT  NOT NULL,
    label      TEXT    NOT NULL CHECK (length(label) BETWEEN 1 AND 20),
    token      TEXT    NOT NULL CHECK (length(token) = 26),
    created_at BIGINT  NOT NULL,
    CONSTRAINT dining_tables_token_key UNIQUE (token),
    CONSTRAINT dining_tables_store_label_key UNIQUE (store_id, label),
    -- A table's brand is its store's brand: the composite key makes a mismatch impossible.
    FOREIGN KEY (brand_id, store_id) REFERENCES stores (brand_id, id)
);

CREATE TABLE members (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id     BIGINT  NOT NULL REFERENCES brands (id),
    member_no    TEXT    NOT NULL,
    phone        TEXT    NOT NULL CHECK (phone GLOB '+[1-9]*' AND length(phone) BETWEEN 8 AND 16),
    display_name TEXT    NOT NULL DEFAULT '' CHECK (length(display_name) <= 40),
    created_at   BIGINT  NOT NULL,
    CONSTRAINT members_brand_phone_key UNIQUE (brand_id, phone),
    CONSTRAINT members_brand_no_key UNIQUE (brand_id, member_no)
);

CREATE TABLE staff (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id      BIGINT  NOT NULL REFERENCES brands (id),
    login         TEXT    NOT NULL CHECK (length(login) BETWEEN 3 AND 40),
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('owner', 'manager', 'cashier')),
    display_name  TEXT    NOT NULL DEFAULT '',
    created_at    BIGINT  NOT NULL,
    CONSTRAINT staff_login_key UNIQUE (login)
);

CREATE INDEX stores_brand_idx ON stores (brand_id);
CREATE INDEX dining_tables_store_idx ON dining_tables (store_id);
CREATE INDEX staff_brand_idx ON staff (brand_id);
