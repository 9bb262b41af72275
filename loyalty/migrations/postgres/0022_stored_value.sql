-- Stored value (储值, issue 22): money a member paid in at a till
-- (principal) and what a top-up rule gave with it (bonus), kept apart.
--
-- The balance is checked by the schema, not only by the code:
-- - every ledger row names the row before it by (member, seq) together with
--   that row's balances, and says its own balances are those plus its
--   deltas; so a member's balances after row n are the sum of rows 1..n;
-- - the account beside the ledger names its last row and its balances by
--   the same key (checked at commit, as the account is written first);
-- - no balance, and no part of a top-up, is ever below zero.
-- Each top-up is a lot: payments take from the oldest lots first, which
-- says where a balance was paid in (the liability per store) and which
-- store owes which (cross-store settlement).

-- How a payment splits between principal and bonus.
ALTER TABLE loyalty_rules ADD COLUMN stored_value_split TEXT NOT NULL DEFAULT 'proportional'
    CHECK (stored_value_split IN ('proportional', 'principal_first'));

-- 充 min_fen 送 bonus_fen, from starts_at until ends_at (NULL: open-ended),
-- at every store (all_stores = 1) or at those in top_up_rule_stores.
CREATE TABLE top_up_rules (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id    BIGINT  NOT NULL REFERENCES brands (id),
    min_fen     BIGINT  NOT NULL CHECK (min_fen > 0 AND min_fen <= 100000000),
    bonus_fen   BIGINT  NOT NULL CHECK (bonus_fen > 0 AND bonus_fen <= min_fen),
    starts_at   BIGINT  NOT NULL,
    ends_at     BIGINT  CHECK (ends_at IS NULL OR ends_at > starts_at),
    all_stores  BIGINT  NOT NULL DEFAULT 1 CHECK (all_stores IN (0, 1)),
    retired_at  BIGINT,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX top_up_rules_brand_idx ON top_up_rules (brand_id, min_fen);

CREATE TABLE top_up_rule_stores (
    rule_id   BIGINT NOT NULL REFERENCES top_up_rules (id),
    brand_id  BIGINT NOT NULL,
    store_id  BIGINT NOT NULL,
    PRIMARY KEY (rule_id, store_id),
    FOREIGN KEY (brand_id, store_id) REFERENCES stores (brand_id, id)
);

CREATE TABLE stored_value_ledger (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id        BIGINT  NOT NULL,
    member_id       BIGINT  NOT NULL,
    seq             BIGINT  NOT NULL CHECK (seq >= 1),
    kind            TEXT    NOT NULL CHECK (kind IN ('top_up', 'payment', 'void', 'refund', 'import')),
    store_id        BIGINT,
    -- The top-up, payment or refund row this entry belongs to.
    ref_id          BIGINT  NOT NULL,
    principal_delta BIGINT  NOT NULL,
    bonus_delta     BIGINT  NOT NULL,
    prev_seq        BIGINT,
    prev_principal  BIGINT  NOT NULL,
    prev_bonus      BIGINT  NOT NULL,
    principal_after BIGINT  NOT NULL CHECK (principal_after >= 0),
    bonus_after     BIGINT  NOT NULL CHECK (bonus_after >= 0),
    created_at      BIGINT  NOT NULL,
    CHECK (principal_delta <> 0 OR bonus_delta <> 0),
    CHECK (principal_after = prev_principal + principal_delta AND bonus_after = prev_bonus + bonus_delta),
    CHECK ((seq = 1 AND prev_seq IS NULL AND prev_principal = 0 AND prev_bonus = 0)
           OR prev_seq = seq - 1),
    CHECK ((kind IN ('top_up', 'import') AND principal_delta >= 0 AND bonus_delta >= 0)
        OR (kind = 'void' AND principal_delta >= 0 AND bonus_delta >= 0)
        OR (kind = 'payment' AND principal_delta <= 0 AND bonus_delta <= 0)
        OR (kind = 'refund' AND principal_delta < 0 AND bonus_delta <= 0)),
    CONSTRAINT stored_value_ledger_seq_key UNIQUE (member_id, seq),
    CONSTRAINT stored_value_ledger_state_key UNIQUE (member_id, seq, principal_after, bonus_after),
    FOREIGN KEY (brand_id, member_id) REFERENCES members (brand_id, id),
    FOREIGN KEY (member_id, prev_seq, prev_principal, prev_bonus)
        REFERENCES stored_value_ledger (member_id, seq, principal_after, bonus_after)
);

CREATE TABLE stored_value_accounts (
    member_id            BIGINT NOT NULL PRIMARY KEY,
    brand_id             BIGINT NOT NULL,
    principal_fen        BIGINT NOT NULL CHECK (principal_fen >= 0),
    bonus_fen            BIGINT NOT NULL CHECK (bonus_fen >= 0),
    seq                  BIGINT NOT NULL CHECK (seq >= 1),
    -- What the last write changed, so the ledger row can say it.
    last_principal_delta BIGINT NOT NULL,
    last_bonus_delta     BIGINT NOT NULL,
    -- ¥10,000,000: far above any card, and small enough that a
    -- proportional split (amount × principal) never overflows 64 bits.
    CHECK (principal_fen + bonus_fen <= 1000000000),
    FOREIGN KEY (brand_id, member_id) REFERENCES members (brand_id, id),
    FOREIGN KEY (member_id, seq, principal_fen, bonus_fen)
        REFERENCES stored_value_ledger (member_id, seq, principal_after, bonus_after)
        DEFERRABLE INITIALLY DEFERRED
);

CREATE TABLE stored_value_top_ups (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id           BIGINT  NOT NULL,
    store_id           BIGINT  NOT NULL,
    member_id          BIGINT  NOT NULL,
    top_up_id          TEXT    NOT NULL CHECK (char_length(top_up_id) BETWEEN 1 AND 100),
    amount_fen         BIGINT  NOT NULL CHECK (amount_fen > 0 AND amount_fen <= 100000000),
    bonus_fen          BIGINT  NOT NULL CHECK (bonus_fen >= 0 AND bonus_fen <= amount_fen),
    rule_id            BIGINT  REFERENCES top_up_rules (id),
    tender             TEXT    CHECK (tender IN ('cash', 'card', 'wechat_pay', 'alipay', 'other')),
    -- What is left of this lot, and what a refund took from it.
    principal_left     BIGINT  NOT NULL CHECK (principal_left >= 0),
    bonus_left         BIGINT  NOT NULL CHECK (bonus_left >= 0 AND bonus_left <= bonus_fen),
    principal_refunded BIGINT  NOT NULL DEFAULT 0 CHECK (principal_refunded >= 0),
    bonus_forfeited    BIGINT  NOT NULL DEFAULT 0 CHECK (bonus_forfeited >= 0),
    created_at         BIGINT  NOT NULL,
    CHECK (principal_left + principal_refunded <= amount_fen),
    CHECK (bonus_left + bonus_forfeited <= bonus_fen),
    CONSTRAINT stored_value_top_ups_store_key UNIQUE (store_id, top_up_id),
    FOREIGN KEY (brand_id, store_id) REFERENCES stores (brand_id, id),
    FOREIGN KEY (brand_id, member_id) REFERENCES members (brand_id, id)
);
CREATE INDEX stored_value_top_ups_member_idx ON stored_value_top_ups (member_id, id);

CREATE TABLE stored_value_payments (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id      BIGINT  NOT NULL,
    store_id      BIGINT  NOT NULL,
    member_id     BIGINT  NOT NULL,
    payment_id    TEXT    NOT NULL CHECK (char_length(payment_id) BETWEEN 1 AND 100),
    order_id      TEXT    CHECK (char_length(order_id) BETWEEN 1 AND 100),
    amount_fen    BIGINT  NOT NULL CHECK (amount_fen > 0),
    principal_fen BIGINT  NOT NULL CHECK (principal_fen >= 0),
    bonus_fen     BIGINT  NOT NULL CHECK (bonus_fen >= 0),
    status        TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'voided')),
    created_at    BIGINT  NOT NULL,
    voided_at     BIGINT,
    CHECK (principal_fen + bonus_fen = amount_fen),
    CHECK ((status = 'active') = (voided_at IS NULL)),
    CONSTRAINT stored_value_payments_store_key UNIQUE (store_id, payment_id),
    FOREIGN KEY (brand_id, store_id) REFERENCES stores (brand_id, id),
    FOREIGN KEY (brand_id, member_id) REFERENCES members (brand_id, id)
);
CREATE INDEX stored_value_payments_member_idx ON stored_value_payments (member_id, id);

-- Which lots a payment took from; a void puts exactly these back.
CREATE TABLE stored_value_moves (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id    BIGINT NOT NULL REFERENCES stored_value_payments (id),
    top_up_id     BIGINT NOT NULL REFERENCES stored_value_top_ups (id),
    principal_fen BIGINT NOT NULL CHECK (principal_fen >= 0),
    bonus_fen     BIGINT NOT NULL CHECK (bonus_fen >= 0),
    CHECK (principal_fen + bonus_fen > 0)
);
CREATE INDEX stored_value_moves_payment_idx ON stored_value_moves (payment_id);
CREATE INDEX stored_value_moves_top_up_idx ON stored_value_moves (top_up_id);

CREATE TABLE stored_value_refunds (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id            BIGINT  NOT NULL,
    store_id            BIGINT  NOT NULL,
    top_up_id           BIGINT  NOT NULL REFERENCES stored_value_top_ups (id),
    refund_id           TEXT    NOT NULL CHECK (char_length(refund_id) BETWEEN 1 AND 100),
    principal_fen       BIGINT  NOT NULL CHECK (principal_fen > 0),
    bonus_forfeited_fen BIGINT  NOT NULL CHECK (bonus_forfeited_fen >= 0),
    created_at          BIGINT  NOT NULL,
    CONSTRAINT stored_value_refunds_key UNIQUE (top_up_id, refund_id),
    FOREIGN KEY (brand_id, store_id) REFERENCES stores (brand_id, id)
);

-- The ledger is append-only, and grows only behind its account: a row is
-- appended at the account's current seq (the account is written first),
-- and the account moves one row at a time. With the keys above, the
-- account's balances are always those of the ledger's last row.
CREATE FUNCTION stored_value_refuse() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% on % is refused: stored value is append-only', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER stored_value_ledger_no_change BEFORE UPDATE OR DELETE ON stored_value_ledger
    FOR EACH ROW EXECUTE FUNCTION stored_value_refuse();
CREATE TRIGGER stored_value_ledger_no_truncate BEFORE TRUNCATE ON stored_value_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION stored_value_refuse();
CREATE TRIGGER stored_value_accounts_no_delete BEFORE DELETE ON stored_value_accounts
    FOR EACH ROW EXECUTE FUNCTION stored_value_refuse();

CREATE FUNCTION stored_value_ledger_follows_account() RETURNS trigger AS $$
BEGIN
    IF NEW.seq IS DISTINCT FROM (SELECT seq FROM stored_value_accounts WHERE member_id = NEW.member_id) THEN
        RAISE EXCEPTION 'a stored-value ledger row is appended at its account''s seq';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER stored_value_ledger_follows_account BEFORE INSERT ON stored_value_ledger
    FOR EACH ROW EXECUTE FUNCTION stored_value_ledger_follows_account();

CREATE FUNCTION stored_value_accounts_one_step() RETURNS trigger AS $$
BEGIN
    IF NEW.seq NOT IN (OLD.seq, OLD.seq + 1) OR NEW.member_id <> OLD.member_id THEN
        RAISE EXCEPTION 'a stored-value account moves one ledger row at a time';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER stored_value_accounts_one_step BEFORE UPDATE ON stored_value_accounts
    FOR EACH ROW EXECUTE FUNCTION stored_value_accounts_one_step();
