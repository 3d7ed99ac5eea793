DROP TRIGGER records_search_delete;
DROP TRIGGER records_search_update;
DROP TRIGGER records_search_insert;
DROP TABLE record_search;
