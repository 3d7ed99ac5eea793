-- SQLite: each of a record's first 16 cells also in a column of its own, equal to
-- json_extract(vals, '$[i]') at every moment. A sheet's sort index on a field is an index
-- on that column, so an update rewrites only the sort indexes of the fields whose values it
-- changes (an index on an expression of vals was rewritten on every update of vals). Later
-- fields keep expression indexes. PostgreSQL has no such columns.
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
UPDATE records SET sort_key_0 = json_extract(vals, '$[0]'),
    sort_key_1 = json_extract(vals, '$[1]'),
    sort_key_2 = json_extract(vals, '$[2]'),
    sort_key_3 = json_extract(vals, '$[3]'),
    sort_key_4 = json_extract(vals, '$[4]'),
    sort_key_5 = json_extract(vals, '$[5]'),
    sort_key_6 = json_extract(vals, '$[6]'),
    sort_key_7 = json_extract(vals, '$[7]'),
    sort_key_8 = json_extract(vals, '$[8]'),
    sort_key_9 = json_extract(vals, '$[9]'),
    sort_key_10 = json_extract(vals, '$[10]'),
    sort_key_11 = json_extract(vals, '$[11]'),
    sort_key_12 = json_extract(vals, '$[12]'),
    sort_key_13 = json_extract(vals, '$[13]'),
    sort_key_14 = json_extract(vals, '$[14]'),
    sort_key_15 = json_extract(vals, '$[15]');
-- The expression sort indexes of those fields are dropped; each is built again on the
-- column when next used (`sort_index::build`).
