-- The tenant fence holds against SQL run as the gateway's own login.
--
-- 1. A request's tenancy is a value the gateway signs: HMAC-SHA256, keyed by a
--    random key `migrate` stores in `fence_keys`, over the organization, the
--    enterprise id and the backend's pid. Policies admit rows of the organization
--    in a value that verifies, so setting it by hand, or copying one from
--    another session, shows nothing. Only omnify_fence (NOLOGIN) reads the key.
-- 2. Cross-tenant work (organization directory, audit outbox, reading the key)
--    belongs to a second login holding omnify_app_system; the request login
--    (omnify_app) loses it.
-- 3. No temporary objects: a temporary table could stand in for one of ours in
--    a later transaction of another tenant on the same pooled connection.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'omnify_fence') THEN
        CREATE ROLE omnify_fence NOLOGIN NOINHERIT NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'omnify_app_system') THEN
        CREATE ROLE omnify_app_system NOLOGIN NOBYPASSRLS;
    END IF;
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        -- Needed to hand objects over to omnify_fence, to store the key, and to grant the system role.
        EXECUTE format('GRANT omnify_fence TO %I', current_user);
        EXECUTE format('GRANT omnify_app_system TO %I', current_user);
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO omnify_fence, omnify_app_system;

-- One row; `omnify-gateway migrate` fills it with a random key. The HMAC pads
-- (the key, zero-padded to SHA-256's 64-byte block, XOR 0x36 and 0x5c) are kept
-- precomputed: PostgreSQL has sha256() built in, but no hmac() without pgcrypto.
CREATE TABLE fence_keys (
    id         smallint PRIMARY KEY CHECK (id = 1),
    key        bytea NOT NULL CHECK (length(key) = 32),
    inner_pad  bytea NOT NULL CHECK (length(inner_pad) = 64),
    outer_pad  bytea NOT NULL CHECK (length(outer_pad) = 64),
    created_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON fence_keys FROM PUBLIC;

-- The organization and enterprise id of a signed value "1:<organization>:<enterprise>:<hex mac>",
-- or NULL unless its MAC is this backend's. Nothing is parsed before the MAC
-- verified; the digests are compared hashed again, so the time taken tells
-- nothing about how much of a guess was right.
CREATE FUNCTION fence_verify(signed text) RETURNS text[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    part text[] := string_to_array(signed, ':');
    pads record;
BEGIN
    IF cardinality(part) IS DISTINCT FROM 4 OR part[1] <> '1' THEN
        RETURN NULL;
    END IF;
    SELECT k.inner_pad, k.outer_pad INTO pads FROM public.fence_keys k WHERE k.id = 1;
    IF pads IS NULL THEN
        RETURN NULL;
    END IF;
    IF sha256(convert_to(part[4], 'UTF8')) = sha256(convert_to(encode(sha256(pads.outer_pad || sha256(
            pads.inner_pad || convert_to(concat_ws(':', part[1], part[2], part[3], pg_backend_pid()), 'UTF8')
        )), 'hex'), 'UTF8')) THEN
        RETURN ARRAY[part[2], part[3]];
    END IF;
    RETURN NULL;
END
$$;

-- What the policies ask, once per statement: `(SELECT app_organization_id())` is
-- an InitPlan. Plain SQL, so each inlines to a single fence_verify call.
CREATE OR REPLACE FUNCTION app_organization_id() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT (public.fence_verify(pg_catalog.current_setting('app.fence', true)))[1]::uuid $$;

CREATE OR REPLACE FUNCTION app_enterprise_id() RETURNS text
    LANGUAGE sql STABLE
    AS $$ SELECT NULLIF((public.fence_verify(pg_catalog.current_setting('app.fence', true)))[2], '') $$;

-- A transaction's tenancy: sets the value for the rest of the transaction and
-- answers whether it verified (the gateway fails loudly when it does not).
CREATE FUNCTION fence_enter(signed text) RETURNS boolean
    LANGUAGE plpgsql VOLATILE
    AS $$
BEGIN
    PERFORM pg_catalog.set_config('app.fence', signed, true);
    RETURN public.fence_verify(signed) IS NOT NULL;
END
$$;

-- The key, for the system login only: the gateway signs with it and derives the event bus key from it.
CREATE FUNCTION fence_key() RETURNS bytea
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$ SELECT k.key FROM public.fence_keys k WHERE k.id = 1 $$;

-- Run last when a pooled connection is handed back, after the reset statements:
-- nothing a transaction did may reach the next borrower. RESET ALL, CLOSE ALL,
-- UNLISTEN *, DISCARD TEMP cover settings, cursors, listeners and temporary
-- objects; prepared statements are the client's (asyncpg caches its own by
-- name), so they are checked instead: none may come from SQL `PREPARE` (one
-- could stand in for a statement of the client's under the same name), and as
-- many as the client holds must still exist (`expected`, or -1 not to compare).
CREATE FUNCTION fence_session_clean(expected integer) RETURNS void
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    from_sql bigint;
    from_client bigint;
BEGIN
    SELECT count(*) FILTER (WHERE p.from_sql), count(*) FILTER (WHERE NOT p.from_sql)
        INTO from_sql, from_client FROM pg_prepared_statements p;
    IF from_sql > 0 THEN
        RAISE EXCEPTION 'the session holds % prepared statement(s) made by SQL PREPARE', from_sql
            USING ERRCODE = 'OF001';
    END IF;
    IF expected >= 0 AND from_client <> expected THEN
        RAISE EXCEPTION 'the session holds % of the client''s % prepared statements', from_client, expected
            USING ERRCODE = 'OF001';
    END IF;
END
$$;

-- Ownership moves to omnify_fence, which PostgreSQL only allows while that role
-- may create in the schema; the right is taken back straight after.
GRANT CREATE ON SCHEMA public TO omnify_fence;
ALTER TABLE fence_keys OWNER TO omnify_fence;
ALTER FUNCTION fence_verify(text) OWNER TO omnify_fence;
ALTER FUNCTION fence_key() OWNER TO omnify_fence;
REVOKE CREATE ON SCHEMA public FROM omnify_fence;

REVOKE EXECUTE ON FUNCTION fence_key() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fence_key() TO omnify_app_system;

-- Every policy keyed by the verified value, asked once per statement.
ALTER POLICY tenant_isolation ON organizations
    USING (id = (SELECT app_organization_id())) WITH CHECK (id = (SELECT app_organization_id()));
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['users', 'channels', 'campaigns', 'creatives', 'daily_metrics', 'cohorts',
                             'brain_states', 'api_credentials', 'sync_jobs', 'action_logs']
    LOOP
        EXECUTE format(
            'ALTER POLICY tenant_isolation ON %I USING (organization_id = (SELECT app_organization_id())) '
            'WITH CHECK (organization_id = (SELECT app_organization_id()))', t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['idempotency_keys', 'outbox']
    LOOP
        EXECUTE format(
            'ALTER POLICY tenant_isolation ON %I USING (organization_key = (SELECT app_enterprise_id())) '
            'WITH CHECK (organization_key = (SELECT app_enterprise_id()))', t);
    END LOOP;
END
$$;

-- Cross-tenant functions: the system login's, no longer the request login's.
REVOKE EXECUTE ON FUNCTION directory_organization_by_slug(text), directory_organization_by_enterprise_id(text),
    directory_slug_of_subject(uuid), outbox_claim(integer), outbox_postpone(bigint, text, double precision),
    outbox_mark_delivered(bigint[]) FROM omnify_app;
GRANT EXECUTE ON FUNCTION directory_organization_by_slug(text), directory_organization_by_enterprise_id(text),
    directory_slug_of_subject(uuid), outbox_claim(integer), outbox_postpone(bigint, text, double precision),
    outbox_mark_delivered(bigint[]) TO omnify_app_system;

-- No temporary objects in this database (every role has TEMPORARY through PUBLIC by default).
-- A migrating role that does not own the database only gets a warning here; the
-- gateway then refuses its logins until the owner revokes it.
DO $$
BEGIN
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC, omnify_app, omnify_app_system', current_database());
END
$$;
