DROP TRIGGER sheets_delete_records ON sheets;
DROP FUNCTION wharf_delete_sheet_records();
ALTER TABLE records ADD CONSTRAINT records_sheet_seq_fkey
    FOREIGN KEY (sheet_seq) REFERENCES sheets(seq) ON DELETE CASCADE;
