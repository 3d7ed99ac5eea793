ALTER TABLE guest_sessions DROP COLUMN link_hash;
