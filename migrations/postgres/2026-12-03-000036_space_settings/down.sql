ALTER TABLE workbooks DROP COLUMN settings;
ALTER TABLE spaces DROP COLUMN extras;
ALTER TABLE spaces DROP COLUMN primary_workbook_id;
