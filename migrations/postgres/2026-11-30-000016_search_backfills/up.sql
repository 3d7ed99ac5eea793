-- A sheet's search index being filled in batches (SQLite): records up to done_upto are in it,
-- those after until index themselves as they are written. Gone once the index is complete.
CREATE TABLE search_backfills (
    sheet_seq BIGINT PRIMARY KEY,
    done_upto BIGINT NOT NULL,
    until_id BIGINT NOT NULL
);
