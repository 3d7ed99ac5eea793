DROP TABLE commits;
ALTER TABLE records DROP COLUMN custom;
