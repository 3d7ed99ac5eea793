-- Search reads a cell as the grid shows it: a number as written (`1e+21`, `-0.0`), which
-- `json` keeps and `jsonb` rewrites (`1000000000000000000000`, `0.0`), and a list as its
-- items joined by ", ". The sheets' trigram indexes were built on the old text: they go,
-- and are built again in the background on the next search.
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
    AS $$ SELECT lower(string_agg(
              CASE WHEN json_typeof(c) = 'array'
                   THEN (SELECT string_agg(item, ', ' ORDER BY n)
                         FROM json_array_elements_text(c) WITH ORDINALITY AS items(item, n))
                   ELSE c #>> '{}' END,
              E'\x1f' ORDER BY i) COLLATE "und-x-icu")
          FROM json_array_elements(vals::json) WITH ORDINALITY AS cell(c, i) $$;
