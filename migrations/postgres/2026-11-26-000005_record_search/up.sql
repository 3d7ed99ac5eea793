-- Search: a record's cells as shown, case-folded with ICU (whatever the database's
-- locale), joined by U+001F. A searched sheet gets a partial pg_trgm GIN index on it at
-- run time (src/model/record/search_index.rs).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE FUNCTION wharf_search_text(vals TEXT) RETURNS TEXT
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT lower(string_agg(t, E'\x1f') COLLATE "und-x-icu") FROM jsonb_array_elements_text(vals::jsonb) AS cell(t) $$;
