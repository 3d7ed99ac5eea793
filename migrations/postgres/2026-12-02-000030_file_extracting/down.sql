ALTER TABLE files DROP COLUMN extracting_job;
