-- The API key that created an environment through the API: a key may manage its own
-- environment, and another only while that one holds nothing and the key created it.
ALTER TABLE environments ADD COLUMN created_by_key TEXT;
