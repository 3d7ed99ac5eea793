-- Flatfile's record `config` (`{readonly, fields: {key: {readonly}}}`), which listener
-- code sets (`record.setReadOnly`) to lock a record or some of its cells.
ALTER TABLE records ADD COLUMN config TEXT;
