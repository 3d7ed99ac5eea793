ALTER TABLE records DROP CONSTRAINT records_pkey;
ALTER TABLE records ADD CONSTRAINT records_pkey PRIMARY KEY (id);
CREATE INDEX records_sheet ON records(sheet_seq, id);
