-- Credentials written through the API (createCredential, rotateCredential, revokeCredential) and
-- Brain states published by the brain-module service (publishBrainState).
--
-- A secret is sealed by the gateway (AES-256-GCM, gateway/core/vault.py) before it reaches the
-- database, and is never rewritten: each version of a credential's secret is a row of its own in
-- `api_credential_secrets`, which the request login may insert into but neither read, change nor
-- delete. `api_credentials.version` names the current one; `key_id` the master key that sealed it,
-- so the key can be replaced while the sync workers hold both. Rows from before this migration
-- keep their secret in `api_credentials.encrypted_secret` (version 1, no key id).
ALTER TABLE api_credentials
    ALTER COLUMN encrypted_secret DROP NOT NULL,
    ADD COLUMN key_id     text,
    ADD COLUMN version    integer NOT NULL DEFAULT 1 CHECK (version > 0),
    ADD COLUMN rotated_at timestamptz,
    ADD COLUMN revoked_at timestamptz,
    ADD CONSTRAINT api_credentials_id_organization UNIQUE (id, organization_id);

CREATE TABLE api_credential_secrets (
    credential_id    uuid NOT NULL,
    organization_id  uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    version          integer NOT NULL CHECK (version > 0),
    encrypted_secret bytea NOT NULL,
    key_id           text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (credential_id, version),
    -- A secret row belongs to a credential of its own organization, whatever the inserting SQL says.
    FOREIGN KEY (credential_id, organization_id) REFERENCES api_credentials (id, organization_id) ON DELETE CASCADE
);
ALTER TABLE api_credential_secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_credential_secrets FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_credential_secrets
    USING (organization_id = (SELECT app_organization_id()))
    WITH CHECK (organization_id = (SELECT app_organization_id()));

-- Metadata only: no secret column is ever readable or updatable by the request login.
GRANT SELECT (key_id, version, rotated_at, revoked_at) ON api_credentials TO omnify_app;
GRANT INSERT (id, organization_id, platform, key_id, key_hint) ON api_credentials TO omnify_app;
GRANT UPDATE (key_id, key_hint, version, rotated_at, status, revoked_at) ON api_credentials TO omnify_app;
GRANT INSERT (credential_id, organization_id, version, encrypted_secret, key_id) ON api_credential_secrets
    TO omnify_app;

GRANT INSERT (organization_id, module, state, computed_at, version) ON brain_states TO omnify_app;
