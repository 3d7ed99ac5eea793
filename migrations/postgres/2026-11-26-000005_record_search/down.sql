DROP FUNCTION wharf_search_text(TEXT);
