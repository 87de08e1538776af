"""GraphQL types of the Brain store (PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from functools import partial
from typing import Annotated, ClassVar
from uuid import UUID

import strawberry
from strawberry import Info

from gateway.core.context import RequestContext
from gateway.data.brain import campaigns, channels, cohorts, creatives, json_text, metrics
from gateway.data.brain.campaigns import CampaignRow
from gateway.data.brain.channels import ChannelRow
from gateway.data.brain.cohorts import CohortRow
from gateway.data.brain.creatives import CreativeRow
from gateway.data.paging import Page
from resolvers.brain import history
from resolvers.brain.enums import (
    ChannelStatus,
    CreativeFormat,
    DeliveryStatus,
    Platform,
    channel_status,
    creative_format,
    delivery_status,
    platform,
)
from resolvers.brain.lists import (
    CampaignFilter,
    CampaignOrder,
    CreativeFilter,
    CreativeOrder,
    MetricsRange,
    campaign_filter,
    creative_filter,
)
from resolvers.brain.metric_types import (
    DailyMetric,
    FromArg,
    Performance,
    RetentionPoint,
    ToArg,
    Totals,
    daily_metrics,
    performance_rows,
    retention_points,
)
from resolvers.brain.records import ActionLog
from resolvers.common.enums import stored
from resolvers.common.filters import DateRange, day_range, sorts
from resolvers.common.objects import batched_field, row_builder, row_fields, written_in_postgres
from resolvers.common.relay import (
    COUNTS_BY_STATUS,
    After,
    Before,
    Connection,
    CountedConnection,
    First,
    Last,
    Node,
    node_ids,
)
from resolvers.common.scalars import Currency, Money

Ctx = Info[RequestContext, None]

# Descriptions of the fields defined by their batch (kept here: a decorator line holds only so much).
CAMPAIGNS_OF_CHANNEL = "Campaigns on this channel; by name unless `orderBy` says otherwise."
CREATIVES_OF_CAMPAIGN = "The campaign's creatives; by name unless `orderBy` says otherwise."
CAMPAIGN_PERFORMANCE = "Totals over a date range, in the campaign's currency (zeros without metrics)."
CREATIVE_PERFORMANCE = "Totals over a date range, in its campaign's currency (zeros without metrics)."


@strawberry.type(description="How many campaigns of a list have one status.")
class CampaignStatusCount:
    status: DeliveryStatus = strawberry.field(description="The status.")
    count: int = strawberry.field(description="Campaigns of the list in this status.")


@strawberry.type(description="How many creatives of a list have one status.")
class CreativeStatusCount:
    status: DeliveryStatus = strawberry.field(description="The status.")
    count: int = strawberry.field(description="Creatives of the list in this status.")


@strawberry.type(description="A marketing channel: one connected platform account (e.g. the Meta ad account).")
class Channel(Node):
    from_row: ClassVar[Callable[[ChannelRow], Channel]]
    raw_id: strawberry.Private[UUID]
    platform: Platform = strawberry.field(description="The platform.")
    name: str = strawberry.field(description="Display name.")
    status: ChannelStatus = strawberry.field(description="Whether the channel is connected and syncing.")
    created_at: dt.datetime = strawberry.field(description="When the channel was connected.")
    external_account_id: str | None = strawberry.field(
        description="The account's id on the platform, the key a catalog sync finds the channel by; null until set."
    )

    @batched_field("CampaignConnection", reads=("raw_id",), description=CAMPAIGNS_OF_CHANNEL)
    async def campaigns(
        sources: Sequence[Channel],
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[CampaignFilter | None, strawberry.argument(description="Narrow the list.")] = None,
        order_by: Annotated[list[CampaignOrder] | None, strawberry.argument(description="Sort keys in turn.")] = None,
        metrics_range: MetricsRange = None,
    ) -> list[CampaignConnection]:
        ids = [s.raw_id for s in sources]
        return await _campaigns_of(info, ids, first, after, last, before, filter, order_by, metrics_range)

    @strawberry.field(
        description="Totals over a date range, one per currency of the channel's campaigns with metrics in the "
        "range, ordered by currency; empty when there are none. Amounts in different currencies are never added."
    )
    async def performance(self, info: Ctx, from_: FromArg, to: ToArg) -> list[Performance]:
        metrics.check_range(from_, to)
        rows = await info.context.loader(metrics.channel_performance).load((self.raw_id, (from_, to)))
        return [Performance.from_row(r) for r in rows]

    @strawberry.field(description="Performance per day and currency over a date range (days without data are omitted).")
    async def daily_metrics(self, info: Ctx, from_: FromArg, to: ToArg) -> list[DailyMetric]:
        return await daily_metrics(info, metrics.channel_daily, self.raw_id, from_, to)

    @strawberry.field(description="Customer cohorts acquired through this channel, newest month first.")
    async def cohorts(self, info: Ctx) -> list[Cohort]:
        return [Cohort.from_row(r) for r in await info.context.loader(cohorts.by_channel).load(self.raw_id)]


Channel.from_row = row_builder(
    Channel,
    id=(node_ids("Channel"), "id"),
    raw_id="id",
    platform=(platform, "platform"),
    name="name",
    status=(channel_status, "status"),
    created_at="created_at",
    external_account_id="external_account_id",
)


@strawberry.type(description="An advertising campaign on one channel, with its daily budget.")
class Campaign(Node):
    from_row: ClassVar[Callable[[CampaignRow], Campaign]]
    raw_id: strawberry.Private[UUID]
    channel_id: strawberry.Private[UUID]
    name: str = strawberry.field(description="Campaign name as shown on the ad platform.")
    external_id: str = strawberry.field(description="The campaign's id on the ad platform.")
    status: DeliveryStatus = strawberry.field(description="Whether the campaign is delivering.")
    daily_budget: Money = strawberry.field(description="Budget per day in the campaign's currency.")
    objective: str | None = strawberry.field(description="Optimisation goal, e.g. `conversions`.")
    start_date: dt.date | None = strawberry.field(description="First day the campaign runs.")
    end_date: dt.date | None = strawberry.field(description="Last day the campaign runs; null when open-ended.")
    created_at: dt.datetime = strawberry.field(description="When the campaign was created.")
    updated_at: dt.datetime = strawberry.field(description="When the campaign was last changed.")
    version: int = strawberry.field(
        description="Raised by one with every change to the campaign; `updateCampaign` names the version it edits."
    )

    @strawberry.field(description="The channel the campaign runs on.")
    async def channel(self, info: Ctx) -> Channel:
        row = await info.context.loader(channels.by_id).load(self.channel_id)
        assert row is not None, "a foreign key keeps the channel"
        return Channel.from_row(row)

    @batched_field("CreativeConnection", reads=("raw_id",), description=CREATIVES_OF_CAMPAIGN)
    async def creatives(
        sources: Sequence[Campaign],
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[CreativeFilter | None, strawberry.argument(description="Narrow the list.")] = None,
        order_by: Annotated[list[CreativeOrder] | None, strawberry.argument(description="Sort keys in turn.")] = None,
        metrics_range: MetricsRange = None,
    ) -> list[CreativeConnection]:
        ids = [s.raw_id for s in sources]
        return await _creatives_of(info, ids, first, after, last, before, filter, order_by, metrics_range)

    # The dashboard's per-object figures: one call for all the campaigns (creatives) of a level.
    @batched_field(Performance, rows=Performance.from_row, reads=("raw_id",), description=CAMPAIGN_PERFORMANCE)
    async def performance(sources: Sequence[Campaign], info: Ctx, from_: FromArg, to: ToArg) -> Totals:
        return await performance_rows(info, metrics.CAMPAIGN, [s.raw_id for s in sources], from_, to)

    @strawberry.field(description="Performance per day over a date range (days without data are omitted).")
    async def daily_metrics(self, info: Ctx, from_: FromArg, to: ToArg) -> list[DailyMetric]:
        return await daily_metrics(info, metrics.campaign_daily, self.raw_id, from_, to)

    @batched_field(Connection[ActionLog], reads=("raw_id",), description=history.ACTION_LOGS.format("campaign"))
    async def action_logs(
        sources: Sequence[Campaign],
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: history.Filter = None,
        order_by: history.Order = None,
    ) -> list[Connection[ActionLog]]:
        page = (first, after, last, before)
        return await history.action_logs_of(info, "Campaign", [s.raw_id for s in sources], page, filter, order_by)


Campaign.from_row = row_builder(
    Campaign,
    id=(node_ids("Campaign"), "id"),
    raw_id="id",
    channel_id="channel_id",
    name="name",
    external_id="external_id",
    status=(delivery_status, "status"),
    daily_budget=(Money.of, "daily_budget", "currency"),
    objective="objective",
    start_date="start_date",
    end_date="end_date",
    created_at="created_at",
    updated_at="updated_at",
    version="version",
)


@strawberry.type(description="One ad creative of a campaign.")
class Creative(Node):
    from_row: ClassVar[Callable[[CreativeRow], Creative]]
    raw_id: strawberry.Private[UUID]
    campaign_id: strawberry.Private[UUID]
    name: str = strawberry.field(description="Creative name.")
    external_id: str = strawberry.field(description="The creative's id on the ad platform.")
    format: CreativeFormat = strawberry.field(description="Image, video, carousel or text.")
    status: DeliveryStatus = strawberry.field(description="Whether the creative is delivering.")
    headline: str | None = strawberry.field(description="Headline text shown with the creative.")
    created_at: dt.datetime = strawberry.field(description="When the creative was created.")
    updated_at: dt.datetime = strawberry.field(description="When the creative was last changed.")

    @strawberry.field(description="The campaign this creative belongs to.")
    async def campaign(self, info: Ctx) -> Campaign:
        row = await info.context.loader(campaigns.by_id).load(self.campaign_id)
        assert row is not None, "a foreign key keeps the campaign"
        return Campaign.from_row(row)

    @batched_field(Performance, rows=Performance.from_row, reads=("raw_id",), description=CREATIVE_PERFORMANCE)
    async def performance(sources: Sequence[Creative], info: Ctx, from_: FromArg, to: ToArg) -> Totals:
        return await performance_rows(info, metrics.CREATIVE, [s.raw_id for s in sources], from_, to)

    @strawberry.field(description="Performance per day over a date range (days without data are omitted).")
    async def daily_metrics(self, info: Ctx, from_: FromArg, to: ToArg) -> list[DailyMetric]:
        return await daily_metrics(info, metrics.creative_daily, self.raw_id, from_, to)

    @batched_field(Connection[ActionLog], reads=("raw_id",), description=history.ACTION_LOGS.format("creative"))
    async def action_logs(
        sources: Sequence[Creative],
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: history.Filter = None,
        order_by: history.Order = None,
    ) -> list[Connection[ActionLog]]:
        page = (first, after, last, before)
        return await history.action_logs_of(info, "Creative", [s.raw_id for s in sources], page, filter, order_by)


Creative.from_row = row_builder(
    Creative,
    id=(node_ids("Creative"), "id"),
    raw_id="id",
    campaign_id="campaign_id",
    name="name",
    external_id="external_id",
    format=(creative_format, "format"),
    status=(delivery_status, "status"),
    headline="headline",
    created_at="created_at",
    updated_at="updated_at",
)


@strawberry.type(
    description="Customers first acquired in one month through one channel, with their lifetime value. "
    "A cohort's money is in one currency: the one recorded with it, which for cohorts recorded before "
    "cohorts carried a currency is the one most of its channel's campaigns use (USD for a channel without campaigns)."
)
class Cohort(Node):
    from_row: ClassVar[Callable[[CohortRow], Cohort]]
    channel_id: strawberry.Private[UUID]
    cohort_month: dt.date = strawberry.field(description="First day of the acquisition month.")
    customers: int = strawberry.field(description="Customers acquired that month.")
    currency: str = strawberry.field(
        graphql_type=Currency, description="ISO 4217 code of the cohort's money figures, e.g. `USD`."
    )
    ltv30: Money | None = strawberry.field(
        name="ltv30", description="Average revenue per customer in the first 30 days, in the cohort's currency."
    )
    ltv90: Money | None = strawberry.field(
        name="ltv90", description="Average revenue per customer in the first 90 days, in the cohort's currency."
    )
    ltv180: Money | None = strawberry.field(
        name="ltv180", description="Average revenue per customer in the first 180 days, in the cohort's currency."
    )
    retention: list[RetentionPoint] = strawberry.field(
        description="Share of the cohort still active per month since acquisition, by month (0 first)."
    )

    @strawberry.field(description="The acquisition channel.")
    async def channel(self, info: Ctx) -> Channel:
        row = await info.context.loader(channels.by_id).load(self.channel_id)
        assert row is not None, "a foreign key keeps the channel"
        return Channel.from_row(row)


Cohort.from_row = row_builder(
    Cohort,
    id=(node_ids("Cohort"), "id"),
    channel_id="channel_id",
    cohort_month="cohort_month",
    customers="customers",
    currency=(str.strip, "currency"),
    ltv30=(Money.of, "ltv_30", "currency"),
    ltv90=(Money.of, "ltv_90", "currency"),
    ltv180=(Money.of, "ltv_180", "currency"),
    retention=(retention_points, "retention"),
)


@strawberry.type(description="A page of campaigns (Relay connection) with counts over the whole list.")
class CampaignConnection(CountedConnection[Campaign]):
    @strawberry.field(description=COUNTS_BY_STATUS)
    async def counts_by_status(self) -> list[CampaignStatusCount]:
        counts = await self.tally()
        return [CampaignStatusCount(status=s, count=counts.get(stored(s), 0)) for s in DeliveryStatus]


@strawberry.type(description="A page of creatives (Relay connection) with counts over the whole list.")
class CreativeConnection(CountedConnection[Creative]):
    @strawberry.field(description=COUNTS_BY_STATUS)
    async def counts_by_status(self) -> list[CreativeStatusCount]:
        counts = await self.tally()
        return [CreativeStatusCount(status=s, count=counts.get(stored(s), 0)) for s in DeliveryStatus]


# A page of children for each parent of a level, one statement for all (the resolvers above ask for one).


async def _campaigns_of(
    info: Ctx,
    channel_ids: Sequence[UUID],
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    filter: CampaignFilter | None = None,
    order_by: list[CampaignOrder] | None = None,
    metrics_range: DateRange | None = None,
) -> list[CampaignConnection]:
    ctx, flt = info.context, campaign_filter(filter)
    page = Page(first, after, last, before, row_fields(info))
    days = day_range(metrics_range)
    pages = await campaigns.pages_of_channels(ctx, channel_ids, page, flt, sorts(order_by), days)
    return [
        CampaignConnection.of(
            found, Campaign.from_row, tally=partial(campaigns.counts_of_channel, ctx, parent, flt, days)
        )
        for parent, found in zip(channel_ids, pages, strict=True)
    ]


async def _creatives_of(
    info: Ctx,
    campaign_ids: Sequence[UUID],
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    filter: CreativeFilter | None = None,
    order_by: list[CreativeOrder] | None = None,
    metrics_range: DateRange | None = None,
) -> list[CreativeConnection]:
    ctx, flt = info.context, creative_filter(filter)
    page = Page(first, after, last, before, row_fields(info))
    days = day_range(metrics_range)
    pages = await creatives.pages_of_campaigns(ctx, campaign_ids, page, flt, sorts(order_by), days)
    return [
        CreativeConnection.of(
            found, Creative.from_row, tally=partial(creatives.counts_of_campaign, ctx, parent, flt, days)
        )
        for parent, found in zip(campaign_ids, pages, strict=True)
    ]


# What PostgreSQL writes of a page of campaigns when it writes the whole page (see `written_in_postgres`).
written_in_postgres(Campaign.creatives, creatives.JSON_PAGE)
written_in_postgres(Campaign.performance, json_text.CAMPAIGN_TOTALS)
written_in_postgres(Creative.performance, json_text.CREATIVE_TOTALS)
