-- What listener code had said of a cell (its messages, JSON) beside the value a change
-- replaced: an undo puts them back with the value (probe 69e D2: a record in error came
-- back valid, its listener's "silver is closed" gone).
ALTER TABLE record_changes ADD COLUMN old_messages TEXT;
-- The change a grid undo undid: a second undo steps further back instead of undoing the
-- undo (probe 69e D7).
ALTER TABLE record_changes ADD COLUMN undoes BIGINT;
