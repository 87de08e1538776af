"""The PostgreSQL half of `Organization`: marketing data, performance and Brain outputs."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from functools import partial
from typing import Annotated

import strawberry
from strawberry import Info

from gateway.context import RequestContext
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
from resolvers.common.enums import stored
from resolvers.common.filters import day_range, sorts
from resolvers.common.relay import After, Before, Connection, First, Last

Ctx = Info[RequestContext, None]


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
        page = Page(first, after, last, before)
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
        page = Page(first, after, last, before)
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
        page = Page(first, after, last, before)
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
        page = Page(first, after, last, before)
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
        page = Page(first, after, last, before)
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
        page = Page(first, after, last, before)
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
        rows = await sync_jobs.page(pg, Page(first, after, last, before), flt, sorts(order_by))
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
        page = Page(first, after, last, before)
        rows = await action_logs.page(info.context.postgres, page, action_log_filter(filter), sorts(order_by))
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
