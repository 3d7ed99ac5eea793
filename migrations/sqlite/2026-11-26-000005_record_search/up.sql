-- Search: every record's cells as shown, case-folded (wharf_search_text, a function Wharf
-- registers on each connection), in a trigram index. Contentless: the text is not stored
-- twice; the exact check reads the record itself. Writes fill it in their own
-- transaction, one statement per batch (an FTS5 insert from a per-row trigger flushes a
-- segment for every row: 5x slower); deletes, cascades included, go through a trigger.
CREATE VIRTUAL TABLE record_search USING fts5(
    body, content='', contentless_delete=1, detail='none', tokenize='trigram case_sensitive 1'
);
INSERT INTO record_search(rowid, body) SELECT id, wharf_search_text(vals) FROM records;
CREATE TRIGGER records_search_delete AFTER DELETE ON records BEGIN
    DELETE FROM record_search WHERE rowid = old.id;
END;
