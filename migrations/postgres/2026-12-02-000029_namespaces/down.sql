ALTER TABLE workbooks DROP COLUMN namespace;
ALTER TABLE spaces DROP COLUMN namespace;
