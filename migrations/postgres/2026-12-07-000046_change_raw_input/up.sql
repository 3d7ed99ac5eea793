-- The text a cell was uploaded as, beside the value a change replaced, where a mapping
-- translated it (an option's label, a day-first date): an undo puts both back (probe 68f
-- D1: the customer's "Gold Member" was gone after an undo, only "gold" came back).
ALTER TABLE record_changes ADD COLUMN old_raw TEXT;
