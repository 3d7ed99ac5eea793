-- Records whose shown text changed (or that were deleted) since a sheet's search index
-- last saw them (SQLite): a bulk change notes them here instead of rewriting the index in
-- its own transaction; searches read them beside the index until the background brings the
-- index up to date.
CREATE TABLE search_pending (
    sheet_seq BIGINT NOT NULL,
    record_id BIGINT NOT NULL,
    PRIMARY KEY (sheet_seq, record_id)
) WITHOUT ROWID;
