ALTER TABLE sheets DROP COLUMN locked_by;
ALTER TABLE sheets DROP COLUMN locked_at;
