-- Without a bucket, a file's bytes are in the data folder of the process that received it.
-- `held_by` names that folder (its holder id), and a file deleted through a process that
-- does not hold its bytes leaves their keys here, in the same transaction, for the holder
-- to delete (they stayed in its folder for good).
ALTER TABLE files ADD COLUMN held_by TEXT;
CREATE TABLE stored_deletes (
    holder TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (holder, storage_key)
);
