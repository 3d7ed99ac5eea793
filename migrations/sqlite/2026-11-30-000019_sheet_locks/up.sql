-- A locked sheet (`POST /v1/sheets/{id}/lock`, as listener code locks one while it works):
-- people and guests cannot change its records until it is unlocked; secret keys can.
ALTER TABLE sheets ADD COLUMN locked_at TIMESTAMP;
ALTER TABLE sheets ADD COLUMN locked_by TEXT;
