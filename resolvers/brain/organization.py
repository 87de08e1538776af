"""The PostgreSQL half of `Organization`: marketing data, performance and Brain outputs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from functools import partial
from typing import Annotated, Any

import strawberry
from strawberry import Info

from gateway.core.context import RequestContext
from gateway.core.permissions import Permission
from gateway.data.brain import (
    action_logs,
    brain_states,
    campaigns,
    channels,
    cohorts,
    creatives,
    credentials,
    metrics,
    sync_jobs,
)
from gateway.data.paging import Page
from resolvers.brain.enums import CreativeFormat, Platform
from resolvers.brain.lists import (
    ActionLogFilter,
    ActionLogOrder,
    BrainStateFilter,
    BrainStateOrder,
    CampaignFilter,
    CampaignOrder,
    ChannelFilter,
    ChannelOrder,
    CohortFilter,
    CohortOrder,
    CreativeFilter,
    CreativeOrder,
    CredentialFilter,
    CredentialOrder,
    MetricsRange,
    SyncJobFilter,
    SyncJobOrder,
    action_log_filter,
    brain_state_filter,
    campaign_filter,
    channel_filter,
    cohort_filter,
    creative_filter,
    credential_filter,
    sync_job_filter,
)
from resolvers.brain.types import (
    ActionLog,
    ApiCredential,
    BrainState,
    Campaign,
    CampaignConnection,
    Channel,
    Cohort,
    Creative,
    CreativeConnection,
    FromArg,
    Performance,
    SyncJob,
    SyncJobConnection,
    ToArg,
)
from resolvers.common.cost import LIST_SIZE
from resolvers.common.enums import stored
from resolvers.common.filters import day_range, sorts
from resolvers.common.objects import row_fields, written_in_postgres
from resolvers.common.relay import After, Before, Connection, First, Last
from resolvers.common.scalars import Money

Ctx = Info[RequestContext, None]


@strawberry.enum(description="What to split performance by.")
class PerformanceDimension(Enum):
    CHANNEL = strawberry.enum_value("channel", description="One group per channel.")
    CAMPAIGN = strawberry.enum_value("campaign", description="One group per campaign.")
    CREATIVE = strawberry.enum_value("creative", description="One group per creative.")
    PLATFORM = strawberry.enum_value("platform", description="One group per platform of the channels.")
    FORMAT = strawberry.enum_value("format", description="One group per creative format.")


@strawberry.enum(description="Length of the periods of a time series.")
class TimeInterval(Enum):
    DAY = strawberry.enum_value("day", description="Days.")
    WEEK = strawberry.enum_value("week", description="ISO weeks, Monday to Sunday.")
    MONTH = strawberry.enum_value("month", description="Calendar months.")


@strawberry.type(
    description="Performance of one group in one currency and period. The fields of the dimension split by "
    "are set (e.g. `channel` for CHANNEL), the others are null; `period` is set when an interval is given."
)
class PerformanceGroup:
    period: dt.date | None = strawberry.field(
        description="First day of the period (the day, the Monday of the ISO week, the 1st of the month); "
        "null without an interval. The first and last periods count only days within the range."
    )
    channel: Channel | None = strawberry.field(description="The channel, for CHANNEL.")
    campaign: Campaign | None = strawberry.field(description="The campaign, for CAMPAIGN.")
    creative: Creative | None = strawberry.field(description="The creative, for CREATIVE.")
    platform: Platform | None = strawberry.field(description="The platform, for PLATFORM.")
    format: CreativeFormat | None = strawberry.field(description="The creative format, for FORMAT.")
    currency: str = strawberry.field(description="ISO 4217 code of the group's money, part of the group's key.")
    performance: Performance = strawberry.field(description="Totals and ratios of the group in the period.")


@strawberry.type(description="A count now and in the previous period.")
class CountChange:
    current: int = strawberry.field(description="Over the range asked for.")
    previous: int = strawberry.field(description="Over the previous range of equal length.")
    change: int = strawberry.field(description="current - previous.")
    relative_change: float | None = strawberry.field(
        description="change / previous, e.g. 0.25 for +25 %; null when previous is zero."
    )


@strawberry.type(description="An amount of money now and in the previous period; null where it is undefined.")
class MoneyChange:
    current: Money | None = strawberry.field(
        description="Over the range asked for (e.g. CPA is null without conversions)."
    )
    previous: Money | None = strawberry.field(description="Over the previous range of equal length.")
    change: Money | None = strawberry.field(description="current - previous; null when either is null.")
    relative_change: float | None = strawberry.field(
        description="change / previous, e.g. -0.1 for -10 %; null when previous is zero or null."
    )


@strawberry.type(description="A ratio now and in the previous period; null where it is undefined.")
class RatioChange:
    current: float | None = strawberry.field(description="Over the range asked for.")
    previous: float | None = strawberry.field(description="Over the previous range of equal length.")
    change: float | None = strawberry.field(description="current - previous; null when either is null.")
    relative_change: float | None = strawberry.field(
        description="change / previous; null when previous is zero or null."
    )


@strawberry.type(
    description="Each KPI over a range next to the same KPI over the previous range of equal length "
    "(e.g. the 7 days before a 7-day range), in one currency."
)
class PerformanceComparison:
    currency: str = strawberry.field(description="ISO 4217 code of the money figures.")
    previous_from: dt.date = strawberry.field(description="First day of the previous range.")
    previous_to: dt.date = strawberry.field(description="Last day of the previous range (the day before `from`).")
    impressions: CountChange = strawberry.field(description="Times an ad was shown.")
    clicks: CountChange = strawberry.field(description="Clicks on ads.")
    conversions: CountChange = strawberry.field(description="Attributed conversions.")
    spend: MoneyChange = strawberry.field(description="Money spent.")
    revenue: MoneyChange = strawberry.field(description="Attributed revenue.")
    cpc: MoneyChange = strawberry.field(description="Cost per click.")
    cpa: MoneyChange = strawberry.field(description="Cost per acquisition.")
    ctr: RatioChange = strawberry.field(description="Click-through rate.")
    roas: RatioChange = strawberry.field(description="Return on ad spend.")


def _relative(change: Decimal | float | int | None, previous: Decimal | float | int | None) -> float | None:
    if change is None or not previous:
        return None
    return round(float(Decimal(change) / Decimal(previous)), 6)


def _count(current: int, previous: int) -> CountChange:
    return CountChange(
        current=current,
        previous=previous,
        change=current - previous,
        relative_change=_relative(current - previous, previous),
    )


def _money(current: Decimal | None, previous: Decimal | None, currency: str) -> MoneyChange:
    change = None if current is None or previous is None else current - previous
    return MoneyChange(
        current=Money.maybe(current, currency),
        previous=Money.maybe(previous, currency),
        change=Money.maybe(change, currency),
        relative_change=_relative(change, previous),
    )


def _ratio(current: float | None, previous: float | None) -> RatioChange:
    # Rounded as the ratios themselves are, so 0.3 - 0.1 reads 0.2 and not 0.19999999999999998.
    change = None if current is None or previous is None else round(current - previous, 6)
    return RatioChange(current=current, previous=previous, change=change, relative_change=_relative(change, previous))


def _comparison(now: metrics.MetricsRow, before: metrics.MetricsRow, previous: metrics.Range) -> PerformanceComparison:
    currency = now.currency.strip()
    return PerformanceComparison(
        currency=currency,
        previous_from=previous[0],
        previous_to=previous[1],
        impressions=_count(now.impressions, before.impressions),
        clicks=_count(now.clicks, before.clicks),
        conversions=_count(now.conversions, before.conversions),
        spend=_money(now.spend, before.spend, currency),
        revenue=_money(now.revenue, before.revenue, currency),
        cpc=_money(now.cpc, before.cpc, currency),
        cpa=_money(now.cpa, before.cpa, currency),
        ctr=_ratio(now.ctr, before.ctr),
        roas=_ratio(now.roas, before.roas),
    )


# Groups a breakdown is assumed to have per dimension when its cost is estimated, before it runs.
ASSUMED_GROUPS = {"CHANNEL": 10, "CAMPAIGN": 100, "CREATIVE": 1_000, "PLATFORM": 6, "FORMAT": 4}


def breakdown_size(arguments: Mapping[str, Any]) -> int:
    """The rows a breakdown may return, from its arguments as written: periods x assumed groups."""
    groups = ASSUMED_GROUPS.get(str(arguments.get("by")), 1)
    interval = str(arguments.get("interval")).lower()
    if interval not in metrics.INTERVALS:
        return groups
    most = {
        "day": metrics.MAX_RANGE_DAYS,
        "week": metrics.MAX_RANGE_DAYS // 7 + 2,
        "month": metrics.MAX_RANGE_DAYS // 28 + 2,
    }[interval]
    try:
        start, end = dt.date.fromisoformat(arguments["from"]), dt.date.fromisoformat(arguments["to"])
        periods = metrics.period_count(start, end, interval)
    except (KeyError, TypeError, ValueError, OverflowError):
        periods = most  # not known before the field runs (which refuses a bad range)
    return groups * min(max(periods, 1), most)


@strawberry.type
class BrainOrganization:
    """Fields of `Organization` that PostgreSQL answers."""

    @strawberry.field(description="Connected marketing channels (PostgreSQL); by platform, then name, by default.")
    async def channels(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[ChannelFilter | None, strawberry.argument(description="Narrow the list.")] = None,
        order_by: Annotated[list[ChannelOrder] | None, strawberry.argument(description="Sort keys in turn.")] = None,
    ) -> Connection[Channel] | None:
        page = Page(first, after, last, before, row_fields(info))
        rows = await channels.page(info.context.postgres, page, channel_filter(filter), sorts(order_by))
        return Connection.of(rows, Channel.from_row)

    @strawberry.field(description="Advertising campaigns (PostgreSQL); by name unless `orderBy` says otherwise.")
    async def campaigns(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[CampaignFilter | None, strawberry.argument(description="Narrow the list.")] = None,
        order_by: Annotated[list[CampaignOrder] | None, strawberry.argument(description="Sort keys in turn.")] = None,
        metrics_range: MetricsRange = None,
    ) -> CampaignConnection | None:
        pg, flt = info.context.postgres, campaign_filter(filter)
        page = Page(first, after, last, before, row_fields(info))
        rows = await campaigns.page(pg, page, flt, sorts(order_by), day_range(metrics_range))
        return CampaignConnection.of(rows, Campaign.from_row, tally=partial(campaigns.counts_by_status, pg, flt))

    @strawberry.field(
        description="All creatives of the organization (PostgreSQL); by name unless `orderBy` says otherwise."
    )
    async def creatives(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[CreativeFilter | None, strawberry.argument(description="Narrow the list.")] = None,
        order_by: Annotated[list[CreativeOrder] | None, strawberry.argument(description="Sort keys in turn.")] = None,
        metrics_range: MetricsRange = None,
    ) -> CreativeConnection | None:
        pg, flt = info.context.postgres, creative_filter(filter)
        page = Page(first, after, last, before, row_fields(info))
        rows = await creatives.page(pg, page, flt, sorts(order_by), day_range(metrics_range))
        return CreativeConnection.of(rows, Creative.from_row, tally=partial(creatives.counts_by_status, pg, flt))

    @strawberry.field(description="Customer cohorts by acquisition month; newest month first by default.")
    async def cohorts(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[CohortFilter | None, strawberry.argument(description="Narrow the list.")] = None,
        order_by: Annotated[list[CohortOrder] | None, strawberry.argument(description="Sort keys in turn.")] = None,
    ) -> Connection[Cohort] | None:
        page = Page(first, after, last, before, row_fields(info))
        rows = await cohorts.page(info.context.postgres, page, cohort_filter(filter), sorts(order_by))
        return Connection.of(rows, Cohort.from_row)

    @strawberry.field(description="History of Brain module outputs; newest first (then highest version) by default.")
    async def brain_states(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[BrainStateFilter | None, strawberry.argument(description="Narrow the list.")] = None,
        order_by: Annotated[list[BrainStateOrder] | None, strawberry.argument(description="Sort keys in turn.")] = None,
    ) -> Connection[BrainState] | None:
        page = Page(first, after, last, before, row_fields(info))
        rows = await brain_states.page(info.context.postgres, page, brain_state_filter(filter), sorts(order_by))
        return Connection.of(rows, BrainState.from_row)

    @strawberry.field(description="The latest output of each Brain module (memory, oracle, curiosity).")
    async def latest_brain_states(self, info: Ctx) -> list[BrainState] | None:
        return [BrainState.from_row(r) for r in await brain_states.latest(info.context.postgres)]

    @strawberry.field(
        description="Stored platform credentials: metadata only, never the secret; by platform, then time stored, "
        "by default."
    )
    async def credentials(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[CredentialFilter | None, strawberry.argument(description="Narrow the list.")] = None,
        order_by: Annotated[list[CredentialOrder] | None, strawberry.argument(description="Sort keys in turn.")] = None,
    ) -> Connection[ApiCredential] | None:
        info.context.require(Permission.READ_SENSITIVE)
        page = Page(first, after, last, before, row_fields(info))
        rows = await credentials.page(info.context.postgres, page, credential_filter(filter), sorts(order_by))
        return Connection.of(rows, ApiCredential.from_row)

    @strawberry.field(description="Platform sync jobs; newest first by default.")
    async def sync_jobs(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[SyncJobFilter | None, strawberry.argument(description="Narrow the list.")] = None,
        order_by: Annotated[list[SyncJobOrder] | None, strawberry.argument(description="Sort keys in turn.")] = None,
    ) -> SyncJobConnection | None:
        pg, flt = info.context.postgres, sync_job_filter(filter)
        rows = await sync_jobs.page(pg, Page(first, after, last, before, row_fields(info)), flt, sorts(order_by))
        return SyncJobConnection.of(rows, SyncJob.from_row, tally=partial(sync_jobs.counts_by_status, pg, flt))

    @strawberry.field(description="Actions run against the Brain store; newest first by default.")
    async def action_logs(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[ActionLogFilter | None, strawberry.argument(description="Narrow the list.")] = None,
        order_by: Annotated[list[ActionLogOrder] | None, strawberry.argument(description="Sort keys in turn.")] = None,
    ) -> Connection[ActionLog] | None:
        page = Page(first, after, last, before, row_fields(info))
        rows = await action_logs.page(info.context.postgres, page, action_log_filter(filter), sorts(order_by))
        return Connection.of(rows, ActionLog.from_row)

    @strawberry.field(
        description="Totals across all campaigns over a date range, one per currency with metrics in the range, "
        "ordered by currency; empty when there are none. Amounts in different currencies are never added."
    )
    async def performance(self, info: Ctx, from_: FromArg, to: ToArg) -> list[Performance] | None:
        return [Performance.from_row(r) for r in await metrics.totals(info.context.postgres, from_, to)]

    @strawberry.field(
        description=f"Performance over a date range (at most {metrics.MAX_RANGE_DAYS} days) per currency, split by "
        "a dimension, into periods of an interval, or both (e.g. channel x week). Groups are the dimension's values "
        "with metrics in the range, ordered by name (channels, campaigns, creatives) or value (platforms, formats), "
        "then currency and period. With an interval every group has every period of the range, with zeros where it "
        "has no metrics. Its estimated cost counts periods x an assumed number of groups "
        f"({', '.join(f'{k} {v:,}' for k, v in ASSUMED_GROUPS.items())}).",
        metadata={LIST_SIZE: breakdown_size},
    )
    async def performance_breakdown(
        self,
        info: Ctx,
        from_: FromArg,
        to: ToArg,
        by: Annotated[
            PerformanceDimension | None,
            strawberry.argument(description="Split by this; totals per currency when not given."),
        ] = None,
        interval: Annotated[
            TimeInterval | None, strawberry.argument(description="Split into periods of this length.")
        ] = None,
    ) -> list[PerformanceGroup] | None:
        dimension = stored(by) if by else None
        groups = await metrics.breakdown(
            info.context.postgres, from_, to, dimension, stored(interval) if interval else None
        )
        keys = list(dict.fromkeys(g.key for g in groups))
        found: dict[Any, Any] = {}
        if dimension == "channel":
            found = dict(zip(keys, await info.context.loader(channels.by_id).load_many(keys), strict=True))
        elif dimension == "campaign":
            found = dict(zip(keys, await info.context.loader(campaigns.by_id).load_many(keys), strict=True))
        elif dimension == "creative":
            found = dict(zip(keys, await info.context.loader(creatives.by_id).load_many(keys), strict=True))

        def group(g: metrics.GroupRow) -> PerformanceGroup:
            row = found.get(g.key)
            return PerformanceGroup(
                period=g.period,
                channel=Channel.from_row(row) if dimension == "channel" and row else None,
                campaign=Campaign.from_row(row) if dimension == "campaign" and row else None,
                creative=Creative.from_row(row) if dimension == "creative" and row else None,
                platform=Platform(g.key) if dimension == "platform" else None,
                format=CreativeFormat(g.key) if dimension == "format" else None,
                currency=g.metrics.currency.strip(),
                performance=Performance.from_row(g.metrics),
            )

        return [group(g) for g in groups]

    @strawberry.field(
        description="Each KPI over a date range next to the previous range of equal length, one per currency "
        "with metrics in either range, ordered by currency."
    )
    async def performance_comparison(self, info: Ctx, from_: FromArg, to: ToArg) -> list[PerformanceComparison] | None:
        pairs = await metrics.compared(info.context.postgres, from_, to)
        previous = metrics.previous_range(from_, to)
        return [_comparison(now, before, previous) for _, (now, before) in sorted(pairs.items())]


# The organization's campaigns in their default order, when PostgreSQL can write the whole page.
written_in_postgres(BrainOrganization.campaigns, campaigns.JSON_PAGE)
