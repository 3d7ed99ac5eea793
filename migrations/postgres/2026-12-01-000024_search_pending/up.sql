-- Records whose shown text changed (or that were deleted) since a sheet's search index
-- last saw them. Used on SQLite only (PostgreSQL keeps its trigram index itself); the same
-- schema on both backends keeps one diesel schema.
CREATE TABLE search_pending (
    sheet_seq BIGINT NOT NULL,
    record_id BIGINT NOT NULL,
    PRIMARY KEY (sheet_seq, record_id)
);
