-- A credential's history only moves forward, whoever writes it: the request login may update
-- `version`, `key_id`, `status` and `revoked_at` (rotateCredential, revokeCredential), so SQL
-- run as that login could otherwise point a credential back at a secret version it rotated
-- away from, or bring a revoked credential back. Versions never go down, and a revoked
-- credential stays revoked, with its version and key as they were.
CREATE FUNCTION api_credentials_forward_only() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF NEW.version < OLD.version THEN
        RAISE EXCEPTION 'a credential''s version never goes down' USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.status = 'revoked' AND (NEW.status <> 'revoked' OR NEW.revoked_at IS DISTINCT FROM OLD.revoked_at
            OR NEW.version <> OLD.version OR NEW.key_id IS DISTINCT FROM OLD.key_id) THEN
        RAISE EXCEPTION 'a revoked credential stays revoked' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER api_credentials_forward_only BEFORE UPDATE ON api_credentials
    FOR EACH ROW EXECUTE FUNCTION api_credentials_forward_only();
