-- Who sent a team invitation: removing that person withdraws those nobody accepted yet
-- (probe 67a D6: a removed admin's pending admin invitation still made an admin).
ALTER TABLE user_invites ADD COLUMN invited_by TEXT;
