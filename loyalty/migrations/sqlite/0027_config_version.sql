-- Issue 25: each server process caches a brand's earning rules and tiers
-- under `config_version`, a random number that changes in the same
-- transaction as any change to either (the triggers below). A version thus
-- names one content, in every process that shares the database; 0 is a
-- brand that never had rules or tiers of its own (the defaults).
ALTER TABLE brands ADD COLUMN config_version BIGINT NOT NULL DEFAULT 0;
UPDATE brands SET config_version = random();

CREATE TRIGGER loyalty_rules_inserted_config AFTER INSERT ON loyalty_rules
BEGIN UPDATE brands SET config_version = random() WHERE id = NEW.brand_id; END;
CREATE TRIGGER loyalty_rules_updated_config AFTER UPDATE ON loyalty_rules
BEGIN UPDATE brands SET config_version = random() WHERE id IN (OLD.brand_id, NEW.brand_id); END;
CREATE TRIGGER loyalty_rules_deleted_config AFTER DELETE ON loyalty_rules
BEGIN UPDATE brands SET config_version = random() WHERE id = OLD.brand_id; END;

CREATE TRIGGER tiers_inserted_config AFTER INSERT ON tiers
BEGIN UPDATE brands SET config_version = random() WHERE id = NEW.brand_id; END;
CREATE TRIGGER tiers_updated_config AFTER UPDATE ON tiers
BEGIN UPDATE brands SET config_version = random() WHERE id IN (OLD.brand_id, NEW.brand_id); END;
CREATE TRIGGER tiers_deleted_config AFTER DELETE ON tiers
BEGIN UPDATE brands SET config_version = random() WHERE id = OLD.brand_id; END;
