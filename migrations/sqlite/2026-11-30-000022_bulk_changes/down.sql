DROP INDEX record_changes_bulk;
ALTER TABLE record_changes DROP COLUMN bulk_id;
DROP TABLE bulk_changes;
