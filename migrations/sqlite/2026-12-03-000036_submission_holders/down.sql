ALTER TABLE submissions DROP COLUMN held_by;
