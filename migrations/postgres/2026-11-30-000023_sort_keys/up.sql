-- Whether a sheet's records keep sort keys in columns of their own: SQLite only (see the
-- SQLite migration); PostgreSQL indexes expressions of vals and keeps this at 0.
ALTER TABLE sheets ADD COLUMN sort_keys INTEGER NOT NULL DEFAULT 0;
