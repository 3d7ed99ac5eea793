-- Flatfile's event envelope: the domain a custom event names (others: the topic's prefix),
-- the context beyond the indexed ids (jobId, fileId, sheetSlug, slugs...), dataUrl,
-- namespaces, and who acknowledged it when.
ALTER TABLE events ADD COLUMN domain TEXT NOT NULL DEFAULT '';
-- Records events belong to Flatfile's `workbook` domain (there is no `records` domain).
UPDATE events SET domain = CASE WHEN topic LIKE 'records:%' THEN 'workbook' ELSE split_part(topic, ':', 1) END;
ALTER TABLE events ADD COLUMN context TEXT NOT NULL DEFAULT '{}';
ALTER TABLE events ADD COLUMN data_url TEXT;
ALTER TABLE events ADD COLUMN namespaces TEXT;
ALTER TABLE events ADD COLUMN acknowledged_at TIMESTAMP;
ALTER TABLE events ADD COLUMN acknowledged_by TEXT;
CREATE INDEX events_environment_created ON events(environment_id, created_at, id);
CREATE INDEX events_created ON events(created_at);
-- An event's time comes from the database's clock, taken once its transaction holds an id,
-- so it is never earlier than the start of its transaction as pg_stat_activity shows it
-- (that is what lets a listing hide events still being committed: model/event.rs).
CREATE FUNCTION events_stamp() RETURNS trigger AS $$
BEGIN
    IF NEW.created_at IS NULL THEN
        PERFORM pg_current_xact_id();
        NEW.created_at := clock_timestamp() AT TIME ZONE 'UTC';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER events_stamp BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION events_stamp();
