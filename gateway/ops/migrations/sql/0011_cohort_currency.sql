-- A cohort's lifetime values are money, so they need a currency. A cohort is
-- acquired through one channel, and a channel's campaigns carry currencies:
-- existing cohorts take the currency most of their channel's campaigns use
-- (the alphabetically first on a tie), or USD (the campaigns' default) when
-- the channel has none. New cohorts name theirs, USD by default.
ALTER TABLE cohorts ADD COLUMN currency char(3) NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$');

UPDATE cohorts k SET currency = usual.currency
FROM (
    SELECT DISTINCT ON (organization_id, channel_id) organization_id, channel_id, currency
    FROM campaigns
    GROUP BY organization_id, channel_id, currency
    ORDER BY organization_id, channel_id, count(*) DESC, currency
) usual
WHERE usual.organization_id = k.organization_id AND usual.channel_id = k.channel_id;
