-- Flatfile's `namespace` of a space and of a workbook: events in them carry
-- `namespaces: ["space:<ns>", "workbook:<ns>"]`, which listeners filter on.
ALTER TABLE spaces ADD COLUMN namespace TEXT;
ALTER TABLE workbooks ADD COLUMN namespace TEXT;
