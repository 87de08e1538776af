-- Second fence for tenancy: request queries run as omnify_app (NOLOGIN, no
-- BYPASSRLS) with app.organization_id set per transaction. Without that
-- setting, current_setting(..., true) is NULL and no row is visible.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'omnify_app') THEN
        CREATE ROLE omnify_app NOLOGIN NOBYPASSRLS;
    END IF;
END
$$;

-- The connecting user must be able to SET ROLE omnify_app (a superuser can anyway).
DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT omnify_app TO %I', current_user);
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO omnify_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO omnify_app;
REVOKE ALL ON schema_migrations FROM omnify_app;
-- The secret is for platform sync workers, never for the API.
REVOKE SELECT ON api_credentials FROM omnify_app;
GRANT SELECT (id, organization_id, platform, key_hint, status, created_at, last_used_at) ON api_credentials TO omnify_app;

CREATE FUNCTION app_organization_id() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('app.organization_id', true), '')::uuid $$;

ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON organizations
    USING (id = app_organization_id()) WITH CHECK (id = app_organization_id());

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['users', 'channels', 'campaigns', 'creatives', 'daily_metrics', 'cohorts',
                             'brain_states', 'api_credentials', 'sync_jobs', 'action_logs']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I USING (organization_id = app_organization_id()) '
            'WITH CHECK (organization_id = app_organization_id())', t);
    END LOOP;
END
$$;
