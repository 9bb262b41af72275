-- SQLite's 0014 makes loyalty_rules.brand_id and brand_logos.brand_id NOT
-- NULL, as a PRIMARY KEY always is here: nothing to change, and the two
-- sets keep their numbers in step.
SELECT 1;
