-- SQLite keeps one FTS5 search table per searched sheet, created at run time by
-- src/model/record/search_index.rs; nothing to create here.
SELECT 1;
