-- Record ids are never reused: without AUTOINCREMENT, SQLite hands the id of a deleted
-- newest record to the next insert, and a client's stale update would hit another record.
CREATE TABLE records_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    sheet_seq BIGINT NOT NULL REFERENCES sheets(seq) ON DELETE CASCADE,
    vals TEXT NOT NULL,
    raw TEXT,
    messages TEXT,
    valid BOOLEAN NOT NULL,
    error_fields TEXT,
    metadata TEXT,
    version BIGINT NOT NULL DEFAULT 1
);
INSERT INTO records_new (id, sheet_seq, vals, raw, messages, valid, error_fields, metadata, version)
    SELECT id, sheet_seq, vals, raw, messages, valid, error_fields, metadata, version FROM records;
DROP TABLE records;
ALTER TABLE records_new RENAME TO records;
CREATE INDEX records_sheet ON records(sheet_seq, id);
CREATE INDEX records_sheet_errors ON records(sheet_seq, id) WHERE NOT valid;
