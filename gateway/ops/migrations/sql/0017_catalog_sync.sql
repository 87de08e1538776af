-- Partner catalog sync: channels, campaigns and creatives are upserted by
-- their ids on the ad platform, and sync jobs become a queue linked to the
-- channel and credential they sync.
--
-- Platforms give ids that are unique per platform, not per parent (an ad can
-- move between ad sets), so campaigns and creatives carry their platform and
-- are unique per (organization, platform, external id). The column is filled
-- from the parent by a trigger, so every writer (COPY seeds included) gets it
-- right without naming it; a channel's platform never changes.

ALTER TABLE channels ADD COLUMN external_account_id text
    CHECK (external_account_id IS NULL OR length(external_account_id) BETWEEN 1 AND 200);
CREATE UNIQUE INDEX channels_org_platform_account ON channels (organization_id, platform, external_account_id)
    WHERE external_account_id IS NOT NULL;

ALTER TABLE campaigns ADD COLUMN platform text;
UPDATE campaigns c SET platform = ch.platform
FROM channels ch WHERE ch.organization_id = c.organization_id AND ch.id = c.channel_id;
ALTER TABLE campaigns ALTER COLUMN platform SET NOT NULL;
CREATE UNIQUE INDEX campaigns_org_platform_external ON campaigns (organization_id, platform, external_id);

ALTER TABLE creatives ADD COLUMN platform text;
UPDATE creatives cr SET platform = ca.platform
FROM campaigns ca WHERE ca.organization_id = cr.organization_id AND ca.id = cr.campaign_id;
ALTER TABLE creatives ALTER COLUMN platform SET NOT NULL;
CREATE UNIQUE INDEX creatives_org_platform_external ON creatives (organization_id, platform, external_id);

-- Invoker's rights: the parent is read under the writer's own tenancy, so a
-- parent of another organization reads as missing and the row is refused.
CREATE FUNCTION campaign_platform() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp
    AS $$
BEGIN
    NEW.platform := (SELECT ch.platform FROM public.channels ch
                     WHERE ch.organization_id = NEW.organization_id AND ch.id = NEW.channel_id);
    RETURN NEW;
END
$$;
CREATE TRIGGER campaigns_platform BEFORE INSERT OR UPDATE OF channel_id, platform ON campaigns
    FOR EACH ROW EXECUTE FUNCTION campaign_platform();

CREATE FUNCTION creative_platform() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp
    AS $$
BEGIN
    NEW.platform := (SELECT ca.platform FROM public.campaigns ca
                     WHERE ca.organization_id = NEW.organization_id AND ca.id = NEW.campaign_id);
    RETURN NEW;
END
$$;
CREATE TRIGGER creatives_platform BEFORE INSERT OR UPDATE OF campaign_id, platform ON creatives
    FOR EACH ROW EXECUTE FUNCTION creative_platform();

-- A job names the channel it syncs and the credential it syncs with; both stay in the job's organization.
ALTER TABLE api_credentials ADD CONSTRAINT api_credentials_org_id UNIQUE (organization_id, id);
ALTER TABLE sync_jobs ADD COLUMN channel_id uuid, ADD COLUMN credential_id uuid,
    ADD FOREIGN KEY (organization_id, channel_id) REFERENCES channels (organization_id, id) ON DELETE CASCADE,
    ADD FOREIGN KEY (organization_id, credential_id) REFERENCES api_credentials (organization_id, id)
        ON DELETE CASCADE;
CREATE INDEX sync_jobs_org_queued ON sync_jobs (organization_id, created_at) WHERE status = 'queued';

-- Catalog sync and channel management write platform-owned columns only: ids,
-- organizations and parents are set once, on insert.
GRANT INSERT (organization_id, platform, name, status, external_account_id) ON channels TO omnify_app;
GRANT UPDATE (name, status, external_account_id) ON channels TO omnify_app;
GRANT INSERT (organization_id, channel_id, external_id, name, status, daily_budget, currency, objective,
              start_date, end_date) ON campaigns TO omnify_app;
GRANT UPDATE (name, status, daily_budget, currency, objective, start_date, end_date, updated_at) ON campaigns
    TO omnify_app;
GRANT INSERT (organization_id, campaign_id, external_id, name, format, status, headline) ON creatives
    TO omnify_app;
GRANT UPDATE (name, format, status, headline, updated_at) ON creatives TO omnify_app;
-- The job queue: a requested job names its channel and credential; a claim starts it.
GRANT INSERT (channel_id, credential_id) ON sync_jobs TO omnify_app;
GRANT UPDATE (started_at) ON sync_jobs TO omnify_app;
