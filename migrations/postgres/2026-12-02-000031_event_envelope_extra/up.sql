-- A custom event's other envelope keys (`attributes`, `target`, `origin`, `callbackUrl`),
-- as a JSON object, given back as they were sent.
ALTER TABLE events ADD COLUMN envelope TEXT;
