-- Credentials written through the API (createCredential, rotateCredential, revokeCredential) and
-- Brain states published by the brain-module service (publishBrainState).
--
-- The secret is sealed by the gateway (AES-256-GCM, gateway/core/vault.py) before it reaches the
-- database; `key_id` names the master key that sealed it, so the key can be replaced while rows
-- sealed under the old one are still read by the sync workers that hold both.
ALTER TABLE api_credentials
    ADD COLUMN key_id     text,
    ADD COLUMN version    integer NOT NULL DEFAULT 1 CHECK (version > 0),
    ADD COLUMN rotated_at timestamptz,
    ADD COLUMN revoked_at timestamptz;

-- Metadata only: `encrypted_secret` stays write-only for the request login.
GRANT SELECT (key_id, version, rotated_at, revoked_at) ON api_credentials TO omnify_app;
GRANT INSERT (id, organization_id, platform, encrypted_secret, key_id, key_hint) ON api_credentials TO omnify_app;
GRANT UPDATE (encrypted_secret, key_id, key_hint, version, rotated_at, status, revoked_at) ON api_credentials
    TO omnify_app;

GRANT INSERT (organization_id, module, state, computed_at, version) ON brain_states TO omnify_app;
