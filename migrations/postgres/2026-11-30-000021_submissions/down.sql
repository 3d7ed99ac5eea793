DROP TABLE server_keys;
DROP TABLE submissions;
DROP INDEX webhooks_environment_slug;
ALTER TABLE webhooks DROP COLUMN slug;
