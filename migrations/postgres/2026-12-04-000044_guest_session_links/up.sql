-- The API guest token a browser session was opened with: the session ends when that token
-- is revoked, not only when it expires (probe 51c 1).
ALTER TABLE guest_sessions ADD COLUMN link_hash TEXT;
