-- Messages that listener code (record hooks) put on cells, kept beside Wharf's own
-- validation messages: a sparse JSON map of field index to messages, like `messages`.
ALTER TABLE records ADD COLUMN custom TEXT;

-- A commit: one write of records by a person or an import, which record hooks answer.
CREATE TABLE commits (
    id TEXT PRIMARY KEY NOT NULL,
    environment_id TEXT NOT NULL,
    sheet_id TEXT NOT NULL REFERENCES sheets(id) ON DELETE CASCADE,
    -- The records written, as ranges of ids: "1-5000,5012,5100-5120".
    record_ids TEXT NOT NULL,
    track_changes BOOLEAN NOT NULL DEFAULT FALSE,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    completed_at TIMESTAMP,
    completed_by TEXT
);
CREATE INDEX commits_sheet ON commits(sheet_id, created_at);
CREATE INDEX commits_created ON commits(created_at);
