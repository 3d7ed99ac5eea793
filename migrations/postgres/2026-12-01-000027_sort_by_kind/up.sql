-- A sort orders empty cells, then numbers, then text, as on SQLite: its index holds the
-- cell's kind before the cell (src/model/record/sort_index.rs). The sheets' sort indexes
-- on the cell alone go, and are built again in the background on the next sort or load.
DO $$
DECLARE
    ix record;
BEGIN
    FOR ix IN SELECT indexname FROM pg_indexes
              WHERE tablename = 'records' AND indexname LIKE 'records\_sort\_%'
    LOOP
        EXECUTE format('DROP INDEX IF EXISTS %I', ix.indexname);
    END LOOP;
END $$;
