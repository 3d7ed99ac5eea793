ALTER TABLE environments DROP COLUMN created_by_key;
