-- A webhook's slug names it in a Submit action's `deliverTo`; unique per environment
-- (webhooks without one do not collide).
ALTER TABLE webhooks ADD COLUMN slug TEXT;
CREATE UNIQUE INDEX webhooks_environment_slug ON webhooks(environment_id, slug);

-- A Submit's delivery: the frozen records (stored files, one per sheet), and the state of
-- its tries, kept here so that a restart resumes them.
CREATE TABLE submissions (
    id TEXT PRIMARY KEY NOT NULL,
    environment_id TEXT NOT NULL,
    space_id TEXT NOT NULL,
    workbook_id TEXT NOT NULL,
    job_id TEXT NOT NULL UNIQUE,
    webhook_id TEXT NOT NULL,
    slug TEXT NOT NULL,
    -- JSON: [{id, slug, name, fields, counts, storageKey}] as frozen.
    sheets TEXT NOT NULL,
    record_count BIGINT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    -- JSON list of tries: [{at, statusCode, error}].
    tries TEXT NOT NULL DEFAULT '[]',
    next_attempt_at TIMESTAMP,
    claimed_by TEXT,
    claimed_at TIMESTAMP,
    rejected INTEGER NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP
);
CREATE INDEX submissions_due ON submissions(status, next_attempt_at);
CREATE INDEX submissions_space ON submissions(space_id, created_at);

-- Secrets the server makes for itself (the key that signs records links), shared by every
-- process of one database.
CREATE TABLE server_keys (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
