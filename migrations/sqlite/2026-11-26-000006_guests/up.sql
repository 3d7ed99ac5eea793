-- Guests: people outside the team, invited by email into some spaces of one environment.
CREATE TABLE guests (
    id TEXT PRIMARY KEY NOT NULL,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (environment_id, email)
);

-- The spaces a guest may open.
CREATE TABLE guest_spaces (
    guest_id TEXT NOT NULL REFERENCES guests(id) ON DELETE CASCADE,
    space_id TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
    last_accessed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (guest_id, space_id)
);
CREATE INDEX guest_spaces_space ON guest_spaces(space_id);

-- Magic links (single use) and API guest tokens (reusable until they expire). Only the
-- SHA-256 of a token is stored. Rows outlive their guest (no foreign key), so a link of a
-- removed guest still gets its own "revoked" page.
CREATE TABLE guest_links (
    token_hash TEXT PRIMARY KEY NOT NULL,
    guest_id TEXT NOT NULL,
    space_id TEXT NOT NULL,
    reusable BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX guest_links_guest ON guest_links(guest_id, space_id);

-- Browser sessions opened by a link. The cookie holds a random token; only its hash is stored.
CREATE TABLE guest_sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    guest_id TEXT NOT NULL REFERENCES guests(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX guest_sessions_guest ON guest_sessions(guest_id);

-- Team members invited from the People page: a single-use link to set a password.
CREATE TABLE user_invites (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX user_invites_user ON user_invites(user_id);

-- Editing together: every change to a record's cell, who made it and when (history,
-- undo, conflict checks, and the API's list of a sheet's changes since a point).
CREATE TABLE record_changes (
    id INTEGER PRIMARY KEY NOT NULL,
    sheet_id TEXT NOT NULL REFERENCES sheets(id) ON DELETE CASCADE,
    record_id BIGINT NOT NULL,
    version BIGINT NOT NULL,
    field TEXT NOT NULL,
    old_value TEXT NOT NULL,
    new_value TEXT NOT NULL,
    actor TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX record_changes_record ON record_changes(record_id, id);
CREATE INDEX record_changes_sheet ON record_changes(sheet_id, id);
