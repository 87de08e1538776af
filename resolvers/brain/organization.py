"""The PostgreSQL half of `Organization`: marketing data, performance and Brain outputs."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

import strawberry
from strawberry import Info

from gateway.core.context import RequestContext
from gateway.core.permissions import Permission
from gateway.data.brain import (
    action_logs,
    brain_states,
    breakdowns,
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
    CampaignFilter,
    CampaignOrder,
    ChannelFilter,
    ChannelOrder,
    CohortFilter,
    CohortOrder,
    CreativeFilter,
    CreativeOrder,
    MetricsRange,
    campaign_filter,
    channel_filter,
    cohort_filter,
    creative_filter,
)
from resolvers.brain.metric_types import FromArg, Performance, ToArg
from resolvers.brain.performance import (
    ASSUMED_GROUPS,
    PerformanceComparison,
    PerformanceDimension,
    PerformanceGroup,
    TimeInterval,
    breakdown_size,
    comparison,
)
from resolvers.brain.record_lists import (
    ActionLogFilter,
    ActionLogOrder,
    ApiCredentialFilter,
    ApiCredentialOrder,
    BrainStateFilter,
    BrainStateOrder,
    SyncJobFilter,
    SyncJobOrder,
    action_log_filter,
    brain_state_filter,
    credential_filter,
    sync_job_filter,
)
from resolvers.brain.records import ActionLog, ApiCredential, BrainState
from resolvers.brain.sync_jobs import SyncJob, SyncJobConnection
from resolvers.brain.types import Campaign, CampaignConnection, Channel, Cohort, Creative, CreativeConnection
from resolvers.common.cost import LIST_SIZE
from resolvers.common.enums import stored
from resolvers.common.filters import day_range, sorts
from resolvers.common.objects import row_fields, written_in_postgres
from resolvers.common.relay import After, Before, Connection, First, Last

Ctx = Info[RequestContext, None]


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
        days = day_range(metrics_range)
        rows = await campaigns.page(pg, page, flt, sorts(order_by), days)
        tally = partial(campaigns.counts_by_status, pg, flt, days)
        return CampaignConnection.of(rows, Campaign.from_row, tally=tally)

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
        days = day_range(metrics_range)
        rows = await creatives.page(pg, page, flt, sorts(order_by), days)
        tally = partial(creatives.counts_by_status, pg, flt, days)
        return CreativeConnection.of(rows, Creative.from_row, tally=tally)

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
        filter: Annotated[ApiCredentialFilter | None, strawberry.argument(description="Narrow the list.")] = None,
        order_by: Annotated[
            list[ApiCredentialOrder] | None, strawberry.argument(description="Sort keys in turn.")
        ] = None,
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
        return [Performance.from_row(r) for r in await breakdowns.totals(info.context.postgres, from_, to)]

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
        groups = await breakdowns.breakdown(
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

        def group(g: breakdowns.GroupRow) -> PerformanceGroup:
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
        pairs = await breakdowns.compared(info.context.postgres, from_, to)
        previous = breakdowns.previous_range(from_, to)
        return [comparison(now, before, previous) for _, (now, before) in sorted(pairs.items())]


# The organization's campaigns in their default order, when PostgreSQL can write the whole page.
written_in_postgres(BrainOrganization.campaigns, campaigns.JSON_PAGE)
