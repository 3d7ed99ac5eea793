-- Webhooks: where an environment's events are POSTed, signed with the webhook's secret.
-- The secret is kept as given (it signs, so it cannot be a one-way hash) and shown once.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY NOT NULL,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    -- JSON list of topic globs (`**`, `job:*`, `records:created`).
    topics TEXT NOT NULL DEFAULT '["**"]',
    description TEXT NOT NULL DEFAULT '',
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    secret TEXT NOT NULL,
    -- After a rotation the old secret still signs (beside the new one) until then.
    previous_secret TEXT,
    previous_secret_until TIMESTAMP,
    disabled_reason TEXT,
    -- Since when every delivery failed (none went through since); cleared by a success.
    failing_since TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX webhooks_environment ON webhooks(environment_id);

-- The outbox: one row per event and webhook, written in the event's transaction.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id BIGINT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP,
    last_attempt_at TIMESTAMP,
    last_status_code INTEGER,
    last_duration_ms INTEGER,
    last_response TEXT,
    last_error TEXT,
    claimed_by TEXT,
    claimed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries(webhook_id, created_at);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries(event_id);

-- Each try of a delivery, for the delivery log (at most eight per delivery).
CREATE TABLE webhook_attempts (
    id BIGSERIAL PRIMARY KEY,
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempted_at TIMESTAMP NOT NULL,
    status_code INTEGER,
    duration_ms INTEGER,
    -- The first 2 KB of the answer.
    response TEXT,
    error TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id, id);
