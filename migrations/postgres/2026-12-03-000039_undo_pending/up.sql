-- An undo claims its bulk change before it puts the cells back: true until it has put them
-- all back, so an undo cut off by a stop is told from one that ended (its author's next
-- undo finishes the first; the second is final).
ALTER TABLE bulk_changes ADD COLUMN undo_pending BOOLEAN NOT NULL DEFAULT FALSE;
