-- The outbox dispatcher delivers a claimed batch in one MongoDB insert, so the events
-- of a batch that failed are postponed in one statement too, and the gateway reports
-- how far delivery lags behind. Both functions are the system login's only, like the
-- other outbox functions (0013_fence.sql): the request login cannot call them.

GRANT SELECT (created_at) ON outbox TO omnify_system;

-- Claims take the pending events in id order. Delivered rows are kept, so without this
-- the claim walks the primary key past every event ever delivered (a table that only
-- grows); with it, a claim and the lag read only what is pending.
CREATE INDEX outbox_pending_id ON outbox (id) WHERE delivered_at IS NULL;

-- events[i] waits delays_s[i] seconds (at most an hour, as with outbox_postpone) and
-- keeps errors[i] as its last error. A delivered event is left alone.
CREATE FUNCTION outbox_postpone_batch(events bigint[], errors text[], delays_s double precision[])
    RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
    AS $$
        UPDATE public.outbox o SET attempts = o.attempts + 1, last_error = left(f.error, 500),
            next_attempt_at = now() + make_interval(secs => least(greatest(coalesce(f.delay_s, 0), 0), 3600))
        FROM unnest(events, errors, delays_s) AS f(id, error, delay_s)
        WHERE o.id = f.id AND o.delivered_at IS NULL
    $$;

-- Events not delivered yet, and how long the first queued of them has waited (0 when
-- none): numbers only, never an event.
CREATE FUNCTION outbox_lag()
    RETURNS TABLE (pending bigint, oldest_s double precision)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
    AS $$
        SELECT (SELECT count(*) FROM public.outbox o WHERE o.delivered_at IS NULL),
            coalesce((SELECT extract(epoch FROM now() - o.created_at)::double precision FROM public.outbox o
                      WHERE o.delivered_at IS NULL ORDER BY o.id LIMIT 1), 0)
    $$;

GRANT CREATE ON SCHEMA public TO omnify_system;
ALTER FUNCTION outbox_postpone_batch(bigint[], text[], double precision[]) OWNER TO omnify_system;
ALTER FUNCTION outbox_lag() OWNER TO omnify_system;
REVOKE CREATE ON SCHEMA public FROM omnify_system;

REVOKE EXECUTE ON FUNCTION outbox_postpone_batch(bigint[], text[], double precision[]), outbox_lag()
    FROM PUBLIC, omnify_app;
GRANT EXECUTE ON FUNCTION outbox_postpone_batch(bigint[], text[], double precision[]), outbox_lag()
    TO omnify_app_system;
