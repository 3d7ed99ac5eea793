-- One-time links that create the first admin, by hash. In the database rather than in a
-- process's memory, so a link printed by one Wharf process works on any other.
CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    created_at TIMESTAMP NOT NULL
);
