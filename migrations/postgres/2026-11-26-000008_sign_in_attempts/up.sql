-- Sign-in attempts within the throttle's window, by key ("account:EMAIL", "address:IP"),
-- in the database so every Wharf process sharing it applies the same limits.
CREATE TABLE sign_in_attempts (
    id BIGSERIAL PRIMARY KEY,
    key TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX sign_in_attempts_key ON sign_in_attempts(key, at);
CREATE INDEX sign_in_attempts_at ON sign_in_attempts(at);
