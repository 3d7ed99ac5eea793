DROP INDEX events_created;
DROP INDEX events_environment_created;
ALTER TABLE events DROP COLUMN acknowledged_by;
ALTER TABLE events DROP COLUMN acknowledged_at;
ALTER TABLE events DROP COLUMN namespaces;
ALTER TABLE events DROP COLUMN data_url;
ALTER TABLE events DROP COLUMN context;
ALTER TABLE events DROP COLUMN domain;
