CREATE TABLE records_old (
    id INTEGER PRIMARY KEY NOT NULL,
    sheet_seq BIGINT NOT NULL REFERENCES sheets(seq) ON DELETE CASCADE,
    vals TEXT NOT NULL,
    raw TEXT,
    messages TEXT,
    valid BOOLEAN NOT NULL,
    error_fields TEXT,
    metadata TEXT,
    version BIGINT NOT NULL DEFAULT 1
);
INSERT INTO records_old (id, sheet_seq, vals, raw, messages, valid, error_fields, metadata, version)
    SELECT id, sheet_seq, vals, raw, messages, valid, error_fields, metadata, version FROM records;
DROP TABLE records;
ALTER TABLE records_old RENAME TO records;
CREATE INDEX records_sheet ON records(sheet_seq, id);
CREATE INDEX records_sheet_errors ON records(sheet_seq, id) WHERE NOT valid;
