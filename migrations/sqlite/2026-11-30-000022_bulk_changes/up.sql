-- A bulk change (find and replace, set or clear a column, by API or grid) is one entry in
-- the sheet's history: one click undoes every cell it changed that nobody changed since.
CREATE TABLE bulk_changes (
    id TEXT PRIMARY KEY NOT NULL,
    sheet_id TEXT NOT NULL REFERENCES sheets(id) ON DELETE CASCADE,
    actor TEXT NOT NULL,
    summary TEXT NOT NULL,
    changed BIGINT NOT NULL DEFAULT 0,
    job_id TEXT,
    created_at TIMESTAMP NOT NULL,
    undone_at TIMESTAMP,
    undone_by TEXT
);
CREATE INDEX bulk_changes_sheet ON bulk_changes(sheet_id, created_at);
ALTER TABLE record_changes ADD COLUMN bulk_id TEXT;
CREATE INDEX record_changes_bulk ON record_changes(bulk_id, id) WHERE bulk_id IS NOT NULL;
