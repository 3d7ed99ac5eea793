-- Nothing to undo: sorts build their indexes again on the expression they use.
SELECT 1;
