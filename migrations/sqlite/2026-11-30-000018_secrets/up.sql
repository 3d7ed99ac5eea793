-- Secrets listener code reads with `event.secrets(name)`: per environment, or per space
-- (a space's secret of a name stands before the environment's). Kept as given, since
-- listener code needs the value back; only secret keys read them.
CREATE TABLE secrets (
    id TEXT PRIMARY KEY NOT NULL,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    space_id TEXT REFERENCES spaces(id) ON DELETE CASCADE,
    -- The space's id, or '' for the environment: one secret of a name per scope.
    scope TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX secrets_name ON secrets(environment_id, scope, name);
