-- What an action's job works on (Flatfile's `subject`: a sheet action's filter, search and
-- selected ids) and when its listener expects it to end (`estimatedCompletionAt` of an ack).
ALTER TABLE jobs ADD COLUMN subject TEXT;
ALTER TABLE jobs ADD COLUMN estimated_completion_at TIMESTAMP;
-- A grid page looks up its workbook's action jobs by source.
CREATE INDEX jobs_source ON jobs(source, created_at);
