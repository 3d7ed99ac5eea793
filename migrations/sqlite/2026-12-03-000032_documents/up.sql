-- Flatfile's documents: pages of a space (a "Getting Started" text) that listener code
-- writes in `space:configure`.
CREATE TABLE documents (
    id TEXT PRIMARY KEY NOT NULL,
    space_id TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
    environment_id TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    treatments TEXT NOT NULL DEFAULT '[]',
    actions TEXT NOT NULL DEFAULT '[]',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX documents_by_space ON documents (space_id, created_at);
