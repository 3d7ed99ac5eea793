-- Who uploaded a file (a user, key or guest id): a guest deletes only its own uploads,
-- whatever became of the file's extraction job. Earlier uploads take their extraction's.
ALTER TABLE files ADD COLUMN created_by TEXT;
UPDATE files SET created_by = (
    SELECT jobs.created_by FROM jobs
    WHERE jobs.file_id = files.id AND jobs.job_type = 'file' AND jobs.operation = 'extract'
    ORDER BY jobs.created_at LIMIT 1
);
