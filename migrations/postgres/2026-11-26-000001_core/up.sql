CREATE TABLE environments (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    is_prod BOOLEAN NOT NULL DEFAULT FALSE,
    metadata TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX api_keys_environment ON api_keys(environment_id);

CREATE TABLE space_configs (
    id TEXT PRIMARY KEY NOT NULL,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    blueprint TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (environment_id, slug)
);

CREATE TABLE spaces (
    id TEXT PRIMARY KEY NOT NULL,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    space_config_id TEXT REFERENCES space_configs(id) ON DELETE SET NULL,
    name TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    created_by TEXT,
    archived_at TIMESTAMP,
    last_activity_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX spaces_environment ON spaces(environment_id, created_at);

CREATE TABLE workbooks (
    id TEXT PRIMARY KEY NOT NULL,
    space_id TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
    environment_id TEXT NOT NULL,
    name TEXT NOT NULL,
    labels TEXT NOT NULL DEFAULT '[]',
    metadata TEXT NOT NULL DEFAULT '{}',
    actions TEXT NOT NULL DEFAULT '[]',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX workbooks_space ON workbooks(space_id, created_at);

-- seq: a compact number for the sheet, so record indexes stay narrow.
CREATE TABLE sheets (
    id TEXT PRIMARY KEY NOT NULL,
    seq BIGSERIAL NOT NULL UNIQUE,
    workbook_id TEXT NOT NULL REFERENCES workbooks(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    config TEXT NOT NULL,
    position INTEGER NOT NULL,
    total_count BIGINT NOT NULL DEFAULT 0,
    error_count BIGINT NOT NULL DEFAULT 0,
    errors_by_field TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX sheets_workbook ON sheets(workbook_id, position);

-- values: JSON array in field order (typed when valid); raw: sparse {index: typed text}
-- where it differs; messages: sparse {index: [message]}; error_fields: ",1,4," for filtering.
CREATE TABLE records (
    id BIGSERIAL PRIMARY KEY,
    sheet_seq BIGINT NOT NULL REFERENCES sheets(seq) ON DELETE CASCADE,
    vals TEXT NOT NULL,
    raw TEXT,
    messages TEXT,
    valid BOOLEAN NOT NULL,
    error_fields TEXT,
    metadata TEXT,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX records_sheet ON records(sheet_seq, id);
-- Errors are few: a partial index finds them without indexing every valid record.
CREATE INDEX records_sheet_errors ON records(sheet_seq, id) WHERE NOT valid;

-- Normalised values of unique and referenced fields, for duplicate and reference checks.
CREATE TABLE cell_keys (
    sheet_id TEXT NOT NULL REFERENCES sheets(id) ON DELETE CASCADE,
    field_index INTEGER NOT NULL,
    norm TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    PRIMARY KEY (sheet_id, field_index, norm, record_id)
);
CREATE INDEX cell_keys_record ON cell_keys(record_id);

CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    environment_id TEXT NOT NULL,
    space_id TEXT,
    workbook_id TEXT,
    sheet_id TEXT,
    topic TEXT NOT NULL,
    actor TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX events_space ON events(space_id, id);
CREATE INDEX events_environment ON events(environment_id, id);
