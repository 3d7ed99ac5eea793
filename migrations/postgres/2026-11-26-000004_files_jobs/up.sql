-- Uploaded files: the bytes live in storage under storage_key; this row says what they are.
CREATE TABLE files (
    id TEXT PRIMARY KEY NOT NULL,
    environment_id TEXT NOT NULL,
    space_id TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
    workbook_id TEXT,
    name TEXT NOT NULL,
    ext TEXT NOT NULL,
    mimetype TEXT NOT NULL,
    encoding TEXT NOT NULL,
    status TEXT NOT NULL,
    mode TEXT NOT NULL,
    size BIGINT NOT NULL,
    bytes_received BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    actions TEXT NOT NULL DEFAULT '[]',
    origin TEXT,
    message TEXT,
    reject_count BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX files_space ON files(space_id, created_at);

-- Jobs: Flatfile's fields, plus the claim of the worker running it. A worker refreshes
-- heartbeat_at while it runs; a job whose heartbeat stops is run again.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY NOT NULL,
    environment_id TEXT NOT NULL,
    space_id TEXT REFERENCES spaces(id) ON DELETE CASCADE,
    job_type TEXT NOT NULL,
    operation TEXT NOT NULL,
    source TEXT NOT NULL,
    destination TEXT,
    file_id TEXT,
    config TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL,
    progress INTEGER NOT NULL DEFAULT 0,
    info TEXT,
    outcome TEXT,
    plan TEXT,
    job_trigger TEXT NOT NULL,
    mode TEXT NOT NULL,
    managed BOOLEAN NOT NULL DEFAULT FALSE,
    input TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    checkpoint TEXT,
    created_by TEXT NOT NULL,
    claimed_by TEXT,
    heartbeat_at TIMESTAMP,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    outcome_acknowledged_at TIMESTAMP
);
CREATE INDEX jobs_queue ON jobs(status, created_at);
CREATE INDEX jobs_space ON jobs(space_id, created_at);

-- A confirmed mapping, remembered for a destination sheet and a set of source headers.
CREATE TABLE remembered_mappings (
    sheet_id TEXT NOT NULL REFERENCES sheets(id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL,
    mapping TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (sheet_id, fingerprint)
);
