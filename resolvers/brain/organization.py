"""The PostgreSQL half of `Organization`: marketing data, performance and Brain outputs."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated

import strawberry
from strawberry import Info

from gateway.context import RequestContext
from gateway.data import ids
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
from gateway.permissions import Permission
from resolvers.brain.types import (
    ActionLog,
    ActionStatus,
    ApiCredential,
    BrainModule,
    BrainState,
    Campaign,
    Channel,
    Cohort,
    Creative,
    CreativeFilter,
    DeliveryStatus,
    FromArg,
    Performance,
    Platform,
    SyncJob,
    SyncJobStatus,
    ToArg,
    creative_filter,
)
from resolvers.common.enums import stored, stored_values
from resolvers.common.filters import OrderDirection
from resolvers.common.relay import After, Before, Connection, First, Last

Ctx = Info[RequestContext, None]


@strawberry.enum(description="What to sort campaigns or creatives by.")
class PerformanceOrderField(Enum):
    NAME = strawberry.enum_value("name", description="By name.")
    CREATED_AT = strawberry.enum_value("created_at", description="By creation time.")
    SPEND = strawberry.enum_value("spend", description="By spend in the range.")
    ROAS = strawberry.enum_value("roas", description="By return on ad spend in the range.")
    CTR = strawberry.enum_value("ctr", description="By click-through rate in the range.")


@strawberry.input(
    description="Sort order. SPEND, ROAS and CTR are computed over `from`..`to` (default: the last 30 days)."
)
class PerformanceOrder:
    field: PerformanceOrderField = strawberry.field(description="Sort key.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Ascending or descending.")
    from_: dt.date | None = strawberry.field(default=None, name="from", description="First day of the metrics range.")
    to: dt.date | None = strawberry.field(default=None, description="Last day of the metrics range.")


@strawberry.input(description="Narrows a list of campaigns.")
class CampaignFilter:
    status: list[DeliveryStatus] | None = strawberry.field(default=None, description="Only these statuses.")
    platform: list[Platform] | None = strawberry.field(
        default=None, description="Only campaigns on channels of these platforms."
    )
    channel_id: strawberry.ID | None = strawberry.field(default=None, description="Only campaigns of this channel.")
    name_contains: str | None = strawberry.field(default=None, description="Case-insensitive substring of the name.")


@strawberry.input(description="Narrows an organization-wide list of creatives.")
class OrgCreativeFilter(CreativeFilter):
    campaign_id: strawberry.ID | None = strawberry.field(default=None, description="Only creatives of this campaign.")


@strawberry.enum(description="How to split organization performance.")
class PerformanceGrouping(Enum):
    DAY = strawberry.enum_value("day", description="One group per day.")
    WEEK = strawberry.enum_value("week", description="One group per ISO week.")
    CHANNEL = strawberry.enum_value("channel", description="One group per channel.")
    CAMPAIGN = strawberry.enum_value("campaign", description="One group per campaign.")


@strawberry.type(description="Performance of one group (a day, an ISO week, a channel or a campaign).")
class PerformanceGroup:
    date: dt.date | None = strawberry.field(
        description="The day, or the Monday of the week; null for channel/campaign groups."
    )
    channel: Channel | None = strawberry.field(description="The channel, for CHANNEL grouping.")
    campaign: Campaign | None = strawberry.field(description="The campaign, for CAMPAIGN grouping.")
    performance: Performance = strawberry.field(description="Totals and ratios of the group.")


def _order(order: PerformanceOrder | None) -> metrics.Order | None:
    if order is None:
        return None
    descending = order.direction == OrderDirection.DESC
    return metrics.Order(stored(order.field), descending, order.from_, order.to)


@strawberry.type
class BrainOrganization:
    """Fields of `Organization` that PostgreSQL answers."""

    @strawberry.field(description="Connected marketing channels (PostgreSQL), ordered by platform.")
    async def channels(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        platform: Annotated[list[Platform] | None, strawberry.argument(description="Only these platforms.")] = None,
    ) -> Connection[Channel] | None:
        page = Page(first, after, last, before)
        return Connection.of(
            await channels.page(info.context.postgres, page, platforms=stored_values(platform)),
            Channel.from_row,
        )

    @strawberry.field(
        description="Advertising campaigns (PostgreSQL). Ordered by name unless `orderBy` says otherwise."
    )
    async def campaigns(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[CampaignFilter | None, strawberry.argument(description="Narrow the list.")] = None,
        order_by: Annotated[PerformanceOrder | None, strawberry.argument(description="Sort order.")] = None,
    ) -> Connection[Campaign] | None:
        flt = filter or CampaignFilter()
        rows = await campaigns.page(
            info.context.postgres,
            Page(first, after, last, before),
            statuses=stored_values(flt.status),
            platforms=stored_values(flt.platform),
            channel_id=ids.uuid_id(flt.channel_id, "Channel") if flt.channel_id else None,
            name_contains=flt.name_contains,
            order=_order(order_by),
        )
        return Connection.of(rows, Campaign.from_row)

    @strawberry.field(
        description="All creatives of the organization (PostgreSQL). Ordered by name unless `orderBy` says otherwise."
    )
    async def creatives(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[OrgCreativeFilter | None, strawberry.argument(description="Narrow the list.")] = None,
        order_by: Annotated[PerformanceOrder | None, strawberry.argument(description="Sort order.")] = None,
    ) -> Connection[Creative] | None:
        rows = await creatives.page(
            info.context.postgres,
            Page(first, after, last, before),
            creative_filter(filter),
            campaign_id=ids.uuid_id(filter.campaign_id, "Campaign") if filter and filter.campaign_id else None,
            order=_order(order_by),
        )
        return Connection.of(rows, Creative.from_row)

    @strawberry.field(description="Customer cohorts by acquisition month, newest first.")
    async def cohorts(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        channel_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only cohorts of this channel.")
        ] = None,
    ) -> Connection[Cohort] | None:
        rows = await cohorts.page(
            info.context.postgres,
            Page(first, after, last, before),
            channel_id=ids.uuid_id(channel_id, "Channel") if channel_id else None,
        )
        return Connection.of(rows, Cohort.from_row)

    @strawberry.field(description="History of Brain module outputs, newest first.")
    async def brain_states(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        module: Annotated[BrainModule | None, strawberry.argument(description="Only this module.")] = None,
    ) -> Connection[BrainState] | None:
        rows = await brain_states.page(
            info.context.postgres, Page(first, after, last, before), module=stored(module) if module else None
        )
        return Connection.of(rows, BrainState.from_row)

    @strawberry.field(description="The latest output of each Brain module (memory, oracle, curiosity).")
    async def latest_brain_states(self, info: Ctx) -> list[BrainState] | None:
        return [BrainState.from_row(r) for r in await brain_states.latest(info.context.postgres)]

    @strawberry.field(description="Stored platform credentials: metadata only, never the secret.")
    async def credentials(
        self, info: Ctx, first: First = None, after: After = None, last: Last = None, before: Before = None
    ) -> Connection[ApiCredential] | None:
        info.context.require(Permission.READ_SENSITIVE)
        rows = await credentials.page(info.context.postgres, Page(first, after, last, before))
        return Connection.of(rows, ApiCredential.from_row)

    @strawberry.field(description="Platform sync jobs, newest first.")
    async def sync_jobs(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        status: Annotated[list[SyncJobStatus] | None, strawberry.argument(description="Only these statuses.")] = None,
        platform: Annotated[list[Platform] | None, strawberry.argument(description="Only these platforms.")] = None,
    ) -> Connection[SyncJob] | None:
        rows = await sync_jobs.page(
            info.context.postgres,
            Page(first, after, last, before),
            statuses=stored_values(status),
            platforms=stored_values(platform),
        )
        return Connection.of(rows, SyncJob.from_row)

    @strawberry.field(description="Actions run against the Brain store, newest first.")
    async def action_logs(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        action: Annotated[str | None, strawberry.argument(description="Only this action, e.g. `shiftBudget`.")] = None,
        status: Annotated[ActionStatus | None, strawberry.argument(description="Only this outcome.")] = None,
    ) -> Connection[ActionLog] | None:
        rows = await action_logs.page(
            info.context.postgres,
            Page(first, after, last, before),
            action=action,
            status=stored(status) if status else None,
        )
        return Connection.of(rows, ActionLog.from_row)

    @strawberry.field(description="Totals across all campaigns over a date range.")
    async def performance(self, info: Ctx, from_: FromArg, to: ToArg) -> Performance | None:
        return Performance.from_row(await metrics.totals(info.context.postgres, from_, to))

    @strawberry.field(description="Performance over a date range split by day, ISO week, channel or campaign.")
    async def performance_breakdown(
        self,
        info: Ctx,
        from_: FromArg,
        to: ToArg,
        group_by: Annotated[PerformanceGrouping, strawberry.argument(description="How to split.")],
    ) -> list[PerformanceGroup] | None:
        groups = await metrics.breakdown(info.context.postgres, from_, to, stored(group_by))
        if group_by in (PerformanceGrouping.DAY, PerformanceGrouping.WEEK):
            return [
                PerformanceGroup(date=g.key, channel=None, campaign=None, performance=Performance.from_row(g.metrics))
                for g in groups
            ]
        keys = [g.key for g in groups]
        if group_by == PerformanceGrouping.CHANNEL:
            found_channels = await info.context.loader(channels.by_id).load_many(keys)
            return [
                PerformanceGroup(
                    date=None,
                    channel=Channel.from_row(row) if row else None,
                    campaign=None,
                    performance=Performance.from_row(g.metrics),
                )
                for g, row in zip(groups, found_channels, strict=True)
            ]
        found_campaigns = await info.context.loader(campaigns.by_id).load_many(keys)
        return [
            PerformanceGroup(
                date=None,
                channel=None,
                campaign=Campaign.from_row(row) if row else None,
                performance=Performance.from_row(g.metrics),
            )
            for g, row in zip(groups, found_campaigns, strict=True)
        ]
