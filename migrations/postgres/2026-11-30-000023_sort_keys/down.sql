ALTER TABLE sheets DROP COLUMN sort_keys;
