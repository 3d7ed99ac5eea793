ALTER TABLE bulk_changes DROP COLUMN undo_job;
