-- Issue 25: every server keeps the POS keys it has read lately, with their
-- brands, in memory (loyalty::brands::key_cache). Any change to a key (its
-- hash, its store, its revocation; not when it was last used) or to a brand
-- tells every server on this database, on the channel `tablecard_auth`
-- once the change is committed, and each reads its keys again.
CREATE FUNCTION tablecard_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tablecard_auth', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER api_keys_changed AFTER UPDATE ON api_keys FOR EACH ROW
    WHEN ((OLD.key_hash, OLD.revoked_at, OLD.store_id, OLD.brand_id)
          IS DISTINCT FROM (NEW.key_hash, NEW.revoked_at, NEW.store_id, NEW.brand_id))
    EXECUTE FUNCTION tablecard_auth_changed();
CREATE TRIGGER api_keys_deleted AFTER DELETE ON api_keys FOR EACH ROW
    EXECUTE FUNCTION tablecard_auth_changed();
CREATE TRIGGER brands_changed AFTER UPDATE ON brands FOR EACH ROW
    WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION tablecard_auth_changed();
CREATE TRIGGER brands_deleted AFTER DELETE ON brands FOR EACH ROW
    EXECUTE FUNCTION tablecard_auth_changed();
