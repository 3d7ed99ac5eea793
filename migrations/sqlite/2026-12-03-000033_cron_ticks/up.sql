-- The last slot each `cron:*` topic was sent for: processes sharing a database send each
-- tick once (the one whose update moves the slot sends it).
CREATE TABLE cron_ticks (
    topic TEXT PRIMARY KEY NOT NULL,
    last_slot TIMESTAMP NOT NULL
);
