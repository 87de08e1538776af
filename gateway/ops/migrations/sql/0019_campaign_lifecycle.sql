-- Campaign lifecycle: pause, resume, archive and edit campaigns, with optimistic concurrency.
--
-- `version` starts at 1 and rises by one with every change to a campaign's row, whoever
-- writes it (an edit, a budget change, a status change, a platform sync): an edit names
-- the version it was based on and is refused when the row moved on since. A trigger keeps
-- it, so no writer can forget it, and an UPDATE that leaves every value as it was (a
-- re-sent sync) leaves the version too. The request login cannot set it: it has no UPDATE
-- right on the column, and the trigger overwrites whatever a statement names.
ALTER TABLE campaigns ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version >= 1);

CREATE FUNCTION campaigns_next_version() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF to_jsonb(NEW) - '{updated_at,version}'::text[] IS DISTINCT FROM to_jsonb(OLD) - '{updated_at,version}'::text[] THEN
        NEW.version := OLD.version + 1;
    ELSE
        NEW.version := OLD.version;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER campaigns_version BEFORE UPDATE ON campaigns
    FOR EACH ROW EXECUTE FUNCTION campaigns_next_version();

-- pauseCampaign / resumeCampaign / archiveCampaign / pauseCampaigns (status) and updateCampaign
-- (the fields a user may edit); a campaign's creatives are archived with it (creatives.status,
-- granted for pauseCreative already).
GRANT UPDATE (status, name, objective, start_date, end_date) ON campaigns TO omnify_app;
