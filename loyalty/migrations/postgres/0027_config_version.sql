-- Issue 25: each server process caches a brand's earning rules and tiers
-- under `config_version`, a random number that changes in the same
-- transaction as any change to either (the triggers below). A version thus
-- names one content, in every process that shares the database; 0 is a
-- brand that never had rules or tiers of its own (the defaults).
ALTER TABLE brands ADD COLUMN config_version BIGINT NOT NULL DEFAULT 0;
UPDATE brands SET config_version = CAST(floor((random() - 0.5) * 1.8e19) AS BIGINT);

CREATE FUNCTION brands_config_changed() RETURNS trigger AS $$
BEGIN
    UPDATE brands SET config_version = CAST(floor((random() - 0.5) * 1.8e19) AS BIGINT)
     WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.brand_id ELSE NEW.brand_id END
        OR (TG_OP = 'UPDATE' AND id = OLD.brand_id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER loyalty_rules_config AFTER INSERT OR UPDATE OR DELETE ON loyalty_rules
    FOR EACH ROW EXECUTE FUNCTION brands_config_changed();
CREATE TRIGGER tiers_config AFTER INSERT OR UPDATE OR DELETE ON tiers
    FOR EACH ROW EXECUTE FUNCTION brands_config_changed();
