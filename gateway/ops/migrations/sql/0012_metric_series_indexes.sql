-- Organization-wide totals, series and breakdowns read every metric row of a
-- date range, and channel totals every row of a channel's range. Like the
-- campaign and creative indexes of 0009, these hold every column those sums
-- and their joins read, so PostgreSQL answers from the index alone (an
-- index-only scan) instead of visiting the table row by row. Each replaces the
-- narrower index with the same key.
CREATE INDEX daily_metrics_org_date_totals ON daily_metrics (organization_id, date)
    INCLUDE (campaign_id, channel_id, creative_id, impressions, clicks, spend, conversions, revenue);
CREATE INDEX daily_metrics_org_channel_date_totals ON daily_metrics (organization_id, channel_id, date)
    INCLUDE (campaign_id, impressions, clicks, spend, conversions, revenue);
DROP INDEX daily_metrics_org_date;
DROP INDEX daily_metrics_org_channel_date;
