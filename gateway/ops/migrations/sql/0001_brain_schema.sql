-- The Brain store (SPEC §4). Child tables carry organization_id and reference
-- their parents through (organization_id, id), so a row can never point at a
-- parent in another organization.

CREATE TABLE organizations (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    slug              text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    enterprise_org_id text UNIQUE,
    created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    auth_id         uuid UNIQUE,
    email           text NOT NULL CHECK (position('@' IN email) > 1),
    name            text,
    role            text NOT NULL CHECK (role IN ('owner', 'admin', 'marketer', 'viewer')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, email),
    UNIQUE (organization_id, id)
);

CREATE TABLE channels (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    platform        text NOT NULL CHECK (platform IN ('meta', 'google', 'tiktok', 'shopify', 'linkedin', 'email')),
    name            text NOT NULL,
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'disconnected')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    UNIQUE (organization_id, platform, name)
);

CREATE TABLE campaigns (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    channel_id      uuid NOT NULL,
    external_id     text NOT NULL,
    name            text NOT NULL,
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'archived')),
    daily_budget    numeric(14, 2) NOT NULL DEFAULT 0 CHECK (daily_budget >= 0),
    currency        char(3) NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    objective       text,
    start_date      date,
    end_date        date,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (end_date IS NULL OR start_date IS NULL OR end_date >= start_date),
    FOREIGN KEY (organization_id, channel_id) REFERENCES channels (organization_id, id) ON DELETE CASCADE,
    UNIQUE (organization_id, id),
    UNIQUE (organization_id, channel_id, external_id)
);
CREATE INDEX campaigns_org_channel ON campaigns (organization_id, channel_id);
CREATE INDEX campaigns_org_status_name ON campaigns (organization_id, status, name);
CREATE INDEX campaigns_org_name ON campaigns (organization_id, name);
CREATE INDEX campaigns_org_created ON campaigns (organization_id, created_at);

CREATE TABLE creatives (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    campaign_id     uuid NOT NULL,
    external_id     text NOT NULL,
    name            text NOT NULL,
    format          text NOT NULL CHECK (format IN ('image', 'video', 'carousel', 'text')),
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'archived')),
    headline        text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (organization_id, campaign_id) REFERENCES campaigns (organization_id, id) ON DELETE CASCADE,
    UNIQUE (organization_id, id),
    UNIQUE (organization_id, campaign_id, external_id)
);
CREATE INDEX creatives_org_campaign ON creatives (organization_id, campaign_id, name);
CREATE INDEX creatives_org_name ON creatives (organization_id, name);

CREATE TABLE daily_metrics (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    date            date NOT NULL,
    channel_id      uuid NOT NULL,
    campaign_id     uuid NOT NULL,
    creative_id     uuid NOT NULL,
    impressions     bigint NOT NULL DEFAULT 0 CHECK (impressions >= 0),
    clicks          bigint NOT NULL DEFAULT 0 CHECK (clicks >= 0),
    spend           numeric(14, 2) NOT NULL DEFAULT 0 CHECK (spend >= 0),
    conversions     bigint NOT NULL DEFAULT 0 CHECK (conversions >= 0),
    revenue         numeric(14, 2) NOT NULL DEFAULT 0 CHECK (revenue >= 0),
    CHECK (clicks <= impressions),
    PRIMARY KEY (creative_id, date),
    FOREIGN KEY (organization_id, channel_id) REFERENCES channels (organization_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organization_id, campaign_id) REFERENCES campaigns (organization_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organization_id, creative_id) REFERENCES creatives (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX daily_metrics_org_campaign_date ON daily_metrics (organization_id, campaign_id, date);
CREATE INDEX daily_metrics_org_channel_date ON daily_metrics (organization_id, channel_id, date);
CREATE INDEX daily_metrics_org_date ON daily_metrics (organization_id, date);

CREATE TABLE cohorts (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    channel_id      uuid NOT NULL,
    cohort_month    date NOT NULL CHECK (extract(day FROM cohort_month) = 1),
    customers       integer NOT NULL DEFAULT 0 CHECK (customers >= 0),
    ltv_30          numeric(14, 2),
    ltv_90          numeric(14, 2),
    ltv_180         numeric(14, 2),
    retention       jsonb NOT NULL DEFAULT '{}'::jsonb,
    FOREIGN KEY (organization_id, channel_id) REFERENCES channels (organization_id, id) ON DELETE CASCADE,
    UNIQUE (organization_id, channel_id, cohort_month)
);

CREATE TABLE brain_states (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    module          text NOT NULL CHECK (module IN ('memory', 'oracle', 'curiosity')),
    state           jsonb NOT NULL DEFAULT '{}'::jsonb,
    computed_at     timestamptz NOT NULL DEFAULT now(),
    version         integer NOT NULL CHECK (version > 0),
    UNIQUE (organization_id, module, version)
);

CREATE TABLE api_credentials (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id  uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    platform         text NOT NULL CHECK (platform IN ('meta', 'google', 'tiktok', 'shopify', 'linkedin', 'email')),
    encrypted_secret bytea NOT NULL,
    key_hint         text,
    status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked', 'expired')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_used_at     timestamptz
);
CREATE INDEX api_credentials_org ON api_credentials (organization_id, platform);

CREATE TABLE sync_jobs (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    platform        text NOT NULL CHECK (platform IN ('meta', 'google', 'tiktok', 'shopify', 'linkedin', 'email')),
    status          text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    records_synced  integer NOT NULL DEFAULT 0 CHECK (records_synced >= 0),
    error           text,
    started_at      timestamptz,
    finished_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sync_jobs_org_created ON sync_jobs (organization_id, created_at DESC);

CREATE TABLE action_logs (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    actor_kind      text NOT NULL CHECK (actor_kind IN ('user', 'partner', 'system')),
    actor_id        text NOT NULL,
    action          text NOT NULL,
    target_type     text NOT NULL,
    target_id       text NOT NULL,
    payload         jsonb NOT NULL DEFAULT '{}'::jsonb,
    result          jsonb,
    status          text NOT NULL CHECK (status IN ('succeeded', 'failed')),
    idempotency_key text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, idempotency_key)
);
CREATE INDEX action_logs_org_created ON action_logs (organization_id, created_at DESC);
