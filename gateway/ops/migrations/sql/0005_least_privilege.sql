-- The gateway's run-time login is a member of omnify_app and nothing else: not
-- a superuser, no BYPASSRLS, owner of nothing (`omnify-gateway migrate`
-- creates it). This migration makes that role's rights exactly what the API
-- uses, so even arbitrary SQL in a request's transaction cannot delete rows,
-- promote a user, rewrite a credential or change the schema.

-- 1. Row-level security binds table owners too (superusers and BYPASSRLS roles
--    still bypass it, which only the migrating role may be).
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['organizations', 'users', 'channels', 'campaigns', 'creatives', 'daily_metrics',
                             'cohorts', 'brain_states', 'api_credentials', 'sync_jobs', 'action_logs',
                             'idempotency_keys', 'outbox']
    LOOP
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    END LOOP;
END
$$;

-- 2. Start from nothing, then grant what the API's statements need.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM omnify_app;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM omnify_app;
-- PostgreSQL before 15 lets everyone create objects in `public` (a warning, not an
-- error, where the migrating role does not own the schema).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- Read by queries and node(id); `organizations` is read only through the directory functions below.
GRANT SELECT ON users, channels, campaigns, creatives, daily_metrics, cohorts, brain_states, sync_jobs, action_logs
    TO omnify_app;
-- The secret is for platform sync workers, never for the API.
GRANT SELECT (id, organization_id, platform, key_hint, status, created_at, last_used_at) ON api_credentials
    TO omnify_app;

-- pauseCreative / resumeCreative, updateCampaignBudget (also what their FOR UPDATE locks need).
GRANT UPDATE (status, updated_at) ON creatives TO omnify_app;
GRANT UPDATE (daily_budget, updated_at) ON campaigns TO omnify_app;

-- Ingestion: sync jobs and the metric upsert, which may rewrite a row's figures but never its keys.
GRANT INSERT (organization_id, platform, status, started_at) ON sync_jobs TO omnify_app;
GRANT UPDATE (status, error, finished_at, records_synced) ON sync_jobs TO omnify_app;
GRANT INSERT (organization_id, creative_id, date, campaign_id, channel_id,
              impressions, clicks, spend, conversions, revenue) ON daily_metrics TO omnify_app;
GRANT UPDATE (campaign_id, channel_id, impressions, clicks, spend, conversions, revenue) ON daily_metrics
    TO omnify_app;

-- Every Brain mutation's log entry.
GRANT INSERT (organization_id, actor_kind, actor_id, action, target_type, target_id,
              payload, result, status, idempotency_key) ON action_logs TO omnify_app;

-- The gateway's own tables: idempotency records are written once; audit events are
-- appended, and only the dispatcher's functions below read or mark them.
GRANT SELECT ON idempotency_keys TO omnify_app;
GRANT INSERT (organization_key, key, operation, request_hash, response) ON idempotency_keys TO omnify_app;
GRANT INSERT (event_id, organization_key, document) ON outbox TO omnify_app;
GRANT USAGE ON SEQUENCE outbox_id_seq TO omnify_app;

-- 3. Cross-tenant system work (finding a token's organization, delivering every
--    organization's audit events) goes through a few SECURITY DEFINER functions
--    owned by omnify_system: a NOLOGIN role nobody is a member of except the
--    migrating role, with read rights on exactly the columns these functions use
--    and policies that admit it alone. The run-time login can call the
--    functions, never act as omnify_system.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'omnify_system') THEN
        CREATE ROLE omnify_system NOLOGIN NOINHERIT NOBYPASSRLS;
    END IF;
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        -- Needed to hand the functions over to omnify_system.
        EXECUTE format('GRANT omnify_system TO %I', current_user);
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO omnify_system;
GRANT SELECT (id, slug, name, enterprise_org_id) ON organizations TO omnify_system;
GRANT SELECT (organization_id, auth_id) ON users TO omnify_system;
GRANT SELECT (id, organization_key, document, attempts, next_attempt_at, delivered_at) ON outbox TO omnify_system;
GRANT UPDATE (attempts, last_error, next_attempt_at, delivered_at) ON outbox TO omnify_system;

CREATE POLICY system_directory ON organizations FOR SELECT TO omnify_system USING (true);
CREATE POLICY system_directory ON users FOR SELECT TO omnify_system USING (true);
CREATE POLICY system_dispatch_read ON outbox FOR SELECT TO omnify_system USING (true);
CREATE POLICY system_dispatch_mark ON outbox FOR UPDATE TO omnify_system USING (true) WITH CHECK (true);

-- pg_catalog first so no object in `public` can stand in for a built-in; pg_temp
-- last so a caller's temporary table cannot stand in for one of ours.
CREATE FUNCTION directory_organization_by_slug(wanted text)
    RETURNS TABLE (id uuid, slug text, name text, enterprise_org_id text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
    AS $$ SELECT o.id, o.slug, o.name, o.enterprise_org_id FROM public.organizations o WHERE o.slug = wanted $$;

CREATE FUNCTION directory_organization_by_enterprise_id(wanted text)
    RETURNS TABLE (id uuid, slug text, name text, enterprise_org_id text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
    AS $$
        SELECT o.id, o.slug, o.name, o.enterprise_org_id FROM public.organizations o WHERE o.enterprise_org_id = wanted
    $$;

CREATE FUNCTION directory_slug_of_subject(wanted uuid)
    RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
    AS $$
        SELECT o.slug FROM public.users u JOIN public.organizations o ON o.id = u.organization_id
        WHERE u.auth_id = wanted
    $$;

-- Claimed rows stay locked until the caller's transaction ends, so several
-- dispatchers never deliver the same batch at once.
CREATE FUNCTION outbox_claim(batch integer)
    RETURNS TABLE (id bigint, organization_key text, document jsonb, attempts integer)
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
    AS $$
        SELECT b.id, b.organization_key, b.document, b.attempts FROM public.outbox b
        WHERE b.delivered_at IS NULL AND b.next_attempt_at <= now()
        ORDER BY b.id LIMIT least(greatest(batch, 0), 1000)
        FOR UPDATE SKIP LOCKED
    $$;

-- Bounded, so a caller can delay an event by an hour at most per call; a
-- delivered event's row is kept, so one wrongly marked can still be replayed.
CREATE FUNCTION outbox_postpone(event bigint, error text, delay_s double precision)
    RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
    AS $$
        UPDATE public.outbox SET attempts = attempts + 1, last_error = left(error, 500),
            next_attempt_at = now() + make_interval(secs => least(greatest(delay_s, 0), 3600))
        WHERE id = event AND delivered_at IS NULL
    $$;

CREATE FUNCTION outbox_mark_delivered(events bigint[])
    RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
    AS $$ UPDATE public.outbox SET delivered_at = now() WHERE id = ANY(events) AND delivered_at IS NULL $$;

-- Ownership moves to omnify_system, which PostgreSQL only allows while that role
-- may create in the schema; the right is taken back straight after.
GRANT CREATE ON SCHEMA public TO omnify_system;
ALTER FUNCTION directory_organization_by_slug(text) OWNER TO omnify_system;
ALTER FUNCTION directory_organization_by_enterprise_id(text) OWNER TO omnify_system;
ALTER FUNCTION directory_slug_of_subject(uuid) OWNER TO omnify_system;
ALTER FUNCTION outbox_claim(integer) OWNER TO omnify_system;
ALTER FUNCTION outbox_postpone(bigint, text, double precision) OWNER TO omnify_system;
ALTER FUNCTION outbox_mark_delivered(bigint[]) OWNER TO omnify_system;
REVOKE CREATE ON SCHEMA public FROM omnify_system;

REVOKE EXECUTE ON FUNCTION directory_organization_by_slug(text), directory_organization_by_enterprise_id(text),
    directory_slug_of_subject(uuid), outbox_claim(integer), outbox_postpone(bigint, text, double precision),
    outbox_mark_delivered(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION directory_organization_by_slug(text), directory_organization_by_enterprise_id(text),
    directory_slug_of_subject(uuid), outbox_claim(integer), outbox_postpone(bigint, text, double precision),
    outbox_mark_delivered(bigint[]) TO omnify_app;
