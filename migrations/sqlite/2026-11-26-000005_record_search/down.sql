DROP TRIGGER records_search_delete;
DROP TABLE record_search;
