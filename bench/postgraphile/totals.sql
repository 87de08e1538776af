-- Computed columns for PostGraphile's side of bench/compare.py: a campaign's and a creative's
-- performance totals over a date range, as `performance(from:, to:)` on Campaign and Creative.
-- Applied to the benchmark's database only (by compare.py, as the owner), never by migrations.
-- Each sums one object's metric rows from its covering index, as the gateway's totals do.
CREATE TYPE bench_performance AS (
    impressions bigint,
    clicks      bigint,
    spend       numeric,
    conversions bigint,
    revenue     numeric,
    ctr         float8,
    roas        float8
);

CREATE FUNCTION campaigns_performance(c campaigns, "from" date, "to" date) RETURNS bench_performance
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(sum(m.impressions), 0)::bigint, coalesce(sum(m.clicks), 0)::bigint,
           round(coalesce(sum(m.spend), 0), 2), coalesce(sum(m.conversions), 0)::bigint,
           round(coalesce(sum(m.revenue), 0), 2),
           round(sum(m.clicks)::numeric / nullif(sum(m.impressions), 0), 6)::float8,
           round(sum(m.revenue) / nullif(sum(m.spend), 0), 4)::float8
    FROM daily_metrics m
    WHERE m.organization_id = c.organization_id AND m.campaign_id = c.id AND m.date BETWEEN "from" AND "to"
$$;

CREATE FUNCTION creatives_performance(c creatives, "from" date, "to" date) RETURNS bench_performance
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(sum(m.impressions), 0)::bigint, coalesce(sum(m.clicks), 0)::bigint,
           round(coalesce(sum(m.spend), 0), 2), coalesce(sum(m.conversions), 0)::bigint,
           round(coalesce(sum(m.revenue), 0), 2),
           round(sum(m.clicks)::numeric / nullif(sum(m.impressions), 0), 6)::float8,
           round(sum(m.revenue) / nullif(sum(m.spend), 0), 4)::float8
    FROM daily_metrics m
    WHERE m.organization_id = c.organization_id AND m.creative_id = c.id AND m.date BETWEEN "from" AND "to"
$$;
