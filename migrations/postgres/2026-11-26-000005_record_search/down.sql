DROP INDEX records_search;
DROP FUNCTION wharf_search_text(TEXT);
