-- Tables the gateway owns for mutations: idempotency records and the audit outbox.
-- Neither is exposed through the API. They are keyed by the enterprise
-- organization id (text), so mutations of either store can use them.

CREATE TABLE idempotency_keys (
    organization_key text NOT NULL,
    key              text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    operation        text NOT NULL,
    request_hash     text NOT NULL,
    response         jsonb NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_key, key)
);

-- Audit events for MongoDB's audit_logs, written in the mutation's transaction
-- and delivered by the gateway's dispatcher at least once (deduplicated by event_id).
CREATE TABLE outbox (
    id               bigserial PRIMARY KEY,
    event_id         uuid NOT NULL UNIQUE,
    organization_key text NOT NULL,
    document         jsonb NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    last_error       text
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at, id) WHERE delivered_at IS NULL;

GRANT SELECT, INSERT ON idempotency_keys TO omnify_app;
GRANT INSERT ON outbox TO omnify_app;
GRANT USAGE ON SEQUENCE outbox_id_seq TO omnify_app;
