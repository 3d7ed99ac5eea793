-- Invitations whose mail the SMTP server did not take, tried again in the background
-- until they go or the link they carry would have expired. A row holds what to send,
-- never a link: each try makes a fresh one (links are stored hashed only).
-- target: "guest:GUEST_ID:SPACE_ID" or "member:USER_ID"; one waiting mail per target.
CREATE TABLE mail_retries (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    target TEXT NOT NULL UNIQUE,
    from_name TEXT,
    message TEXT,
    invited_by TEXT NOT NULL,
    tries INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    next_try_at TIMESTAMP NOT NULL,
    give_up_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX mail_retries_next ON mail_retries(next_try_at);
