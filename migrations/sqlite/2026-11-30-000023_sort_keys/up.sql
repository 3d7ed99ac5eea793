-- SQLite: a record's first 16 cells can also be kept in columns of their own, equal to
-- json_extract(vals, '$[i]'). A sheet's sort index on such a field is an index on the
-- column, so an update rewrites only the sort indexes of the fields whose values it changes
-- (an index on an expression of vals was rewritten on every update of vals). Later fields
-- keep expression indexes.
ALTER TABLE records ADD COLUMN sort_key_0;
ALTER TABLE records ADD COLUMN sort_key_1;
ALTER TABLE records ADD COLUMN sort_key_2;
ALTER TABLE records ADD COLUMN sort_key_3;
ALTER TABLE records ADD COLUMN sort_key_4;
ALTER TABLE records ADD COLUMN sort_key_5;
ALTER TABLE records ADD COLUMN sort_key_6;
ALTER TABLE records ADD COLUMN sort_key_7;
ALTER TABLE records ADD COLUMN sort_key_8;
ALTER TABLE records ADD COLUMN sort_key_9;
ALTER TABLE records ADD COLUMN sort_key_10;
ALTER TABLE records ADD COLUMN sort_key_11;
ALTER TABLE records ADD COLUMN sort_key_12;
ALTER TABLE records ADD COLUMN sort_key_13;
ALTER TABLE records ADD COLUMN sort_key_14;
ALTER TABLE records ADD COLUMN sort_key_15;
-- Whether a sheet's records keep them: 0 not kept (a sheet nobody sorted: loads do not
-- pay for them), 1 kept by every write while older records are being filled in, 2 every
-- record has them (reads may use them). The first sort index of a sheet fills them.
ALTER TABLE sheets ADD COLUMN sort_keys INTEGER NOT NULL DEFAULT 0;
