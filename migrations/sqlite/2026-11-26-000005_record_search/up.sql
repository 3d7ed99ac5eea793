-- Search: every record's cells as shown, case-folded (wharf_search_text, a function Wharf
-- registers on each connection), in a trigram index. Contentless: the text is not stored
-- twice; the exact check reads the record itself. Triggers keep it in step with every
-- write in the write's own transaction.
CREATE VIRTUAL TABLE record_search USING fts5(
    body, content='', contentless_delete=1, detail='none', tokenize='trigram case_sensitive 1'
);
INSERT INTO record_search(rowid, body) SELECT id, wharf_search_text(vals) FROM records;
CREATE TRIGGER records_search_insert AFTER INSERT ON records BEGIN
    INSERT INTO record_search(rowid, body) VALUES (new.id, wharf_search_text(new.vals));
END;
CREATE TRIGGER records_search_update AFTER UPDATE OF vals ON records BEGIN
    DELETE FROM record_search WHERE rowid = old.id;
    INSERT INTO record_search(rowid, body) VALUES (new.id, wharf_search_text(new.vals));
END;
CREATE TRIGGER records_search_delete AFTER DELETE ON records BEGIN
    DELETE FROM record_search WHERE rowid = old.id;
END;
