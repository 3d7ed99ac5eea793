-- Without a bucket, a Submit's frozen records are in the data folder of the process that
-- ran its job. `held_by` names that folder (its holder id): only a process holding them
-- delivers the submission, and a space deleted through another process hands their keys
-- over (`stored_deletes`) for the holder to delete.
ALTER TABLE submissions ADD COLUMN held_by TEXT;
