ALTER TABLE events DROP COLUMN envelope;
