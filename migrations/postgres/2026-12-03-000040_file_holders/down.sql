DROP TABLE stored_deletes;
ALTER TABLE files DROP COLUMN held_by;
