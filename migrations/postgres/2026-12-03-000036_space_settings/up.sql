-- Flatfile's `primaryWorkbookId` of a space, as listener code sets it in `space:configure`
-- (a workbook of the space; the oldest one when unset or gone).
ALTER TABLE spaces ADD COLUMN primary_workbook_id TEXT;
-- The other fields of Flatfile's space that Wharf keeps and answers as given without acting
-- on them (`labels`, `access`, `settings`, `translationsPath`, `languageOverride`,
-- `displayOrder`), as one JSON object.
ALTER TABLE spaces ADD COLUMN extras TEXT NOT NULL DEFAULT '{}';
-- A workbook's `settings` (`trackChanges`, `noMappingRedirect`...), as given.
ALTER TABLE workbooks ADD COLUMN settings TEXT;
