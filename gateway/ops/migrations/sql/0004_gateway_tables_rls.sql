-- The gateway's own tables get the same second fence as the Brain tables: a
-- mutation's transaction sets app.enterprise_id, and omnify_app sees only that
-- organization's idempotency keys and outbox rows. The outbox dispatcher
-- connects as the owner, which row-level security does not restrict.

CREATE FUNCTION app_enterprise_id() RETURNS text
    LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('app.enterprise_id', true), '') $$;

ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON idempotency_keys
    USING (organization_key = app_enterprise_id()) WITH CHECK (organization_key = app_enterprise_id());

ALTER TABLE outbox ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON outbox
    USING (organization_key = app_enterprise_id()) WITH CHECK (organization_key = app_enterprise_id());
