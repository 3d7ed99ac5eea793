ALTER TABLE records DROP COLUMN config;
