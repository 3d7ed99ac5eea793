-- Back to sort indexes on the cell alone: the ones holding its kind go.
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
