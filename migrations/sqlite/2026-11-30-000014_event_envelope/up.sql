-- Flatfile's event envelope: the domain a custom event names (others: the topic's prefix),
-- the context beyond the indexed ids (jobId, fileId, sheetSlug, slugs...), dataUrl,
-- namespaces, and who acknowledged it when.
ALTER TABLE events ADD COLUMN domain TEXT NOT NULL DEFAULT '';
-- Records events belong to Flatfile's `workbook` domain (there is no `records` domain).
UPDATE events SET domain = CASE WHEN topic LIKE 'records:%' THEN 'workbook' ELSE substr(topic, 1, instr(topic, ':') - 1) END;
ALTER TABLE events ADD COLUMN context TEXT NOT NULL DEFAULT '{}';
ALTER TABLE events ADD COLUMN data_url TEXT;
ALTER TABLE events ADD COLUMN namespaces TEXT;
ALTER TABLE events ADD COLUMN acknowledged_at TIMESTAMP;
ALTER TABLE events ADD COLUMN acknowledged_by TEXT;
-- Lists are ordered by creation; pruning finds the old ones.
CREATE INDEX events_environment_created ON events(environment_id, created_at, id);
CREATE INDEX events_created ON events(created_at);
