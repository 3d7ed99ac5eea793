ALTER TABLE files DROP COLUMN created_by;
