ALTER TABLE record_changes DROP COLUMN old_raw;
