-- Idempotency keys are kept per organization AND principal (issuer + subject), so no caller can
-- claim a key another caller will use: not a neighbour holding one of our invitation tokens
-- (acceptInvitation keeps its key in the invitation's organization), not a colleague.
-- `principal` is a digest of the principal (gateway/core/idempotency.py `principal_key`). Keys stored
-- before this migration have the empty principal, which no caller has: a retry spanning the
-- upgrade runs afresh instead of replaying.
ALTER TABLE idempotency_keys ADD COLUMN principal text NOT NULL DEFAULT '';
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (organization_key, principal, key);
GRANT INSERT (principal) ON idempotency_keys TO omnify_app;

-- The key a Brain mutation logs is the caller's own now; two members of one organization may
-- both use `retry-1`, so the log no longer holds one key per organization. Uniqueness lives in
-- idempotency_keys, where the key is claimed.
ALTER TABLE action_logs DROP CONSTRAINT IF EXISTS action_logs_organization_id_idempotency_key_key;
