DO $$
DECLARE
    ix record;
BEGIN
    FOR ix IN SELECT indexname FROM pg_indexes
              WHERE tablename = 'records' AND indexname LIKE 'records\_search\_%'
    LOOP
        EXECUTE format('DROP INDEX IF EXISTS %I', ix.indexname);
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION wharf_search_text(vals TEXT) RETURNS TEXT
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT lower(string_agg(t, E'\x1f') COLLATE "und-x-icu") FROM jsonb_array_elements_text(vals::jsonb) AS cell(t) $$;
