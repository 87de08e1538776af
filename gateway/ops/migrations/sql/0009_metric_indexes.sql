-- Performance totals of a page of campaigns or creatives sum their daily
-- metrics over a date range. These indexes hold every column those sums read,
-- so PostgreSQL answers from the index alone (an index-only scan) instead of
-- visiting the table row by row; without a creative index, a page of creatives
-- scanned the organization's whole date range and filtered it. The covering
-- campaign index replaces the narrower one with the same key.
CREATE INDEX daily_metrics_org_campaign_date_totals ON daily_metrics (organization_id, campaign_id, date)
    INCLUDE (impressions, clicks, spend, conversions, revenue);
CREATE INDEX daily_metrics_org_creative_date_totals ON daily_metrics (organization_id, creative_id, date)
    INCLUDE (campaign_id, impressions, clicks, spend, conversions, revenue);
DROP INDEX daily_metrics_org_campaign_date;
