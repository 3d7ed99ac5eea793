-- How many times the process running a job stopped under it (a job that killed the
-- process twice is failed instead of run a third time).
ALTER TABLE jobs ADD COLUMN crashes INTEGER NOT NULL DEFAULT 0;
