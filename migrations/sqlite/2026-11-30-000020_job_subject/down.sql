DROP INDEX jobs_source;
ALTER TABLE jobs DROP COLUMN estimated_completion_at;
ALTER TABLE jobs DROP COLUMN subject;
