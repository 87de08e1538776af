-- A request's first read enters its tenancy in the same statement (one round trip
-- instead of two): the gateway wraps that statement so that this function runs
-- first and the statement's own rows are read after it (see `entering` in
-- gateway/stores/fence.py). A claim that does not verify must not look like an
-- empty answer there, so it raises instead of answering false.
CREATE FUNCTION fence_enter_checked(signed text) RETURNS boolean
    LANGUAGE plpgsql VOLATILE
    AS $$
BEGIN
    IF NOT public.fence_enter(signed) THEN
        RAISE EXCEPTION 'the tenancy claim does not verify on this backend' USING ERRCODE = 'OF002';
    END IF;
    RETURN true;
END
$$;
