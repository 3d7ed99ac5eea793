DROP TABLE search_backfills;
