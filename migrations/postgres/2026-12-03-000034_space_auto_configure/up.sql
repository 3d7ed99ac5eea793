-- Flatfile's `autoConfigure` of a space: made with it, a space gets a `space:configure`
-- job for listener code to set it up.
ALTER TABLE spaces ADD COLUMN auto_configure BOOLEAN NOT NULL DEFAULT FALSE;
