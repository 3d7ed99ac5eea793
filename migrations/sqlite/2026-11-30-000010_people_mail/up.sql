-- When a person's password was set (the first admin, `wharf user create`, an invitation
-- link used). NULL: invited, no password yet; only such a person may be mailed a link
-- to set one, and only people with a password count as admins who can run Wharf.
ALTER TABLE users ADD COLUMN password_set_at TIMESTAMP;
-- Everyone has a password but those invited who have not used a link yet.
UPDATE users SET password_set_at = created_at
WHERE id IN (SELECT user_id FROM user_invites WHERE used_at IS NOT NULL)
   OR (id NOT IN (SELECT user_id FROM user_invites)
       AND ('member:' || id) NOT IN (SELECT target FROM mail_retries));
-- An invitation whose mail can never go as it is (the server refused the address, the
-- message could not be built): not tried again; the pages show why.
ALTER TABLE mail_retries ADD COLUMN permanent BOOLEAN NOT NULL DEFAULT FALSE;
