ALTER TABLE record_changes DROP COLUMN undoes;
ALTER TABLE record_changes DROP COLUMN old_messages;
