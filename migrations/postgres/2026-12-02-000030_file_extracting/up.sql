-- The extraction job that holds a file: one extraction of a file runs at a time.
ALTER TABLE files ADD COLUMN extracting_job TEXT;
