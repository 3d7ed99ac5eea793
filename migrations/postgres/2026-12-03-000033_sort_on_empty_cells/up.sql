-- Sort indexes now order a cell as NULLIF((vals::jsonb)->i, 'null'): a record stored before
-- a field was added (no place i) and one holding a JSON null there are both empty. The
-- indexes and statistics on the old expression are dropped; the next sort by a field, or
-- the end of the next load, builds its index again in the background.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT indexname FROM pg_indexes
             WHERE schemaname = current_schema() AND indexname LIKE 'records\_sort\_%' LOOP
        EXECUTE format('DROP INDEX IF EXISTS %I', r.indexname);
    END LOOP;
    FOR r IN SELECT stxname FROM pg_statistic_ext
             WHERE stxnamespace = current_schema()::regnamespace AND stxname LIKE 'records\_cells\_%' LOOP
        EXECUTE format('DROP STATISTICS IF EXISTS %I', r.stxname);
    END LOOP;
END $$;
