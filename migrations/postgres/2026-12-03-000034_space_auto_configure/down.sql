ALTER TABLE spaces DROP COLUMN auto_configure;
