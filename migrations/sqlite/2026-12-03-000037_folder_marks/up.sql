-- Without a bucket, each running process leaves a mark (a file `storage/marks/<mark>`) in
-- its data folder and says so here, under its folder's id. A process whose folder has the
-- same id but not the others' marks is in a different folder with a copied id: its deletes
-- would not reach their bytes, so it refuses to start.
CREATE TABLE folder_marks (
    holder TEXT NOT NULL,
    mark TEXT NOT NULL,
    seen_at TIMESTAMP NOT NULL,
    PRIMARY KEY (holder, mark)
);
