DROP TABLE record_changes;
DROP TABLE user_invites;
DROP TABLE guest_sessions;
DROP TABLE guest_links;
DROP TABLE guest_spaces;
DROP TABLE guests;
