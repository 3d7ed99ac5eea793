ALTER TABLE user_invites DROP COLUMN invited_by;
