-- The job whose undo claimed a bulk change: another undo finishes a claimed one only when
-- that job no longer runs (two undo jobs at once both put every value back).
ALTER TABLE bulk_changes ADD COLUMN undo_job TEXT;
