"""The PostgreSQL half of `Organization`: marketing data, performance and Brain outputs."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated

import strawberry
from strawberry import Info

from gateway.context import RequestContext
from gateway.permissions import Permission
from resolvers.brain import loaders
from resolvers.brain.loaders import CAMPAIGN_COLUMNS, CHANNEL_COLUMNS, CREATIVE_COLUMNS
from resolvers.brain.sql import METRIC_AGGREGATES, METRICS_FROM, Where, check_range, default_range, org_page
from resolvers.brain.types import (
    CREDENTIAL_COLUMNS,
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
    filter_creatives,
    parse_node_id,
)
from resolvers.common.relay import After, Before, Connection, First, Last, Page

Ctx = Info[RequestContext, None]


@strawberry.enum(description="Sort direction.")
class OrderDirection(Enum):
    ASC = strawberry.enum_value("ASC", description="Smallest first.")
    DESC = strawberry.enum_value("DESC", description="Largest first.")


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


def _metrics_order(order: PerformanceOrder | None, table_alias: str, key_column: str, where: Where) -> tuple[str, str]:
    """(join, ORDER BY) for an order, adding the metrics range parameters to `where`."""
    if order is None:
        return "", f"{table_alias}.name, {table_alias}.id"
    direction = order.direction.value
    if order.field in (PerformanceOrderField.NAME, PerformanceOrderField.CREATED_AT):
        return "", f"{table_alias}.{order.field.value} {direction}, {table_alias}.id"
    start, end = default_range()
    start, end = order.from_ or start, order.to or end
    check_range(start, end)
    a, b = where.param(start), where.param(end)
    join = (
        f"LEFT JOIN (SELECT m.{key_column} AS key, {METRIC_AGGREGATES} FROM {METRICS_FROM} "
        f"WHERE m.organization_id = $1 AND m.date BETWEEN {a} AND {b} GROUP BY m.{key_column}) p "
        f"ON p.key = {table_alias}.id"
    )
    return join, f"p.{order.field.value} {direction} NULLS LAST, {table_alias}.name, {table_alias}.id"


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
        where = Where(conditions=["organization_id = $1"])
        if platform:
            where.add("platform = ANY({}::text[])", [p.value for p in platform])
        return await org_page(
            info.context,
            key="Organization.channels",
            select=f"{CHANNEL_COLUMNS} FROM channels",
            where=where,
            order="platform, name, id",
            build=Channel.from_row,
            page=Page(first, after, last, before),
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
        where = Where(conditions=["c.organization_id = $1"])
        if filter and filter.status:
            where.add("c.status = ANY({}::text[])", [s.value for s in filter.status])
        if filter and filter.platform:
            where.add(
                "c.channel_id IN (SELECT id FROM channels WHERE organization_id = $1 AND platform = ANY({}::text[]))",
                [p.value for p in filter.platform],
            )
        if filter and filter.channel_id:
            where.add("c.channel_id = {}", parse_node_id(filter.channel_id, "Channel"))
        if filter and filter.name_contains:
            where.contains("c.name", filter.name_contains)
        columns = ", ".join(f"c.{col.strip()}" for col in CAMPAIGN_COLUMNS.split(","))
        join, order = _metrics_order(order_by, "c", "campaign_id", where)
        return await org_page(
            info.context,
            key="Organization.campaigns",
            select=f"{columns} FROM campaigns c {join}",
            where=where,
            order=order,
            build=Campaign.from_row,
            page=Page(first, after, last, before),
        )

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
        where = filter_creatives(Where(conditions=["k.organization_id = $1"]), filter, alias="k.")
        if filter and filter.campaign_id:
            where.add("k.campaign_id = {}", parse_node_id(filter.campaign_id, "Campaign"))
        columns = ", ".join(f"k.{col.strip()}" for col in CREATIVE_COLUMNS.split(","))
        join, order = _metrics_order(order_by, "k", "creative_id", where)
        return await org_page(
            info.context,
            key="Organization.creatives",
            select=f"{columns} FROM creatives k {join}",
            where=where,
            order=order,
            build=Creative.from_row,
            page=Page(first, after, last, before),
        )

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
        where = Where(conditions=["organization_id = $1"])
        if channel_id:
            where.add("channel_id = {}", parse_node_id(channel_id, "Channel"))
        return await org_page(
            info.context,
            key="Organization.cohorts",
            select="* FROM cohorts",
            where=where,
            order="cohort_month DESC, id",
            build=Cohort.from_row,
            page=Page(first, after, last, before),
        )

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
        where = Where(conditions=["organization_id = $1"])
        if module:
            where.add("module = {}", module.value)
        return await org_page(
            info.context,
            key="Organization.brainStates",
            select="* FROM brain_states",
            where=where,
            order="computed_at DESC, version DESC, id",
            build=BrainState.from_row,
            page=Page(first, after, last, before),
        )

    @strawberry.field(description="The latest output of each Brain module (memory, oracle, curiosity).")
    async def latest_brain_states(self, info: Ctx) -> list[BrainState] | None:
        pg = info.context.postgres
        rows = await pg.fetch(
            "SELECT DISTINCT ON (module) * FROM brain_states WHERE organization_id = $1 ORDER BY module, version DESC",
            pg.organization_id,
        )
        return [BrainState.from_row(r) for r in rows]

    @strawberry.field(description="Stored platform credentials: metadata only, never the secret.")
    async def credentials(
        self, info: Ctx, first: First = None, after: After = None, last: Last = None, before: Before = None
    ) -> Connection[ApiCredential] | None:
        info.context.require(Permission.READ_SENSITIVE)
        return await org_page(
            info.context,
            key="Organization.credentials",
            select=f"{CREDENTIAL_COLUMNS} FROM api_credentials",
            where=Where(conditions=["organization_id = $1"]),
            order="platform, created_at, id",
            build=ApiCredential.from_row,
            page=Page(first, after, last, before),
        )

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
        where = Where(conditions=["organization_id = $1"])
        if status:
            where.add("status = ANY({}::text[])", [s.value for s in status])
        if platform:
            where.add("platform = ANY({}::text[])", [p.value for p in platform])
        return await org_page(
            info.context,
            key="Organization.syncJobs",
            select="* FROM sync_jobs",
            where=where,
            order="created_at DESC, id",
            build=SyncJob.from_row,
            page=Page(first, after, last, before),
        )

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
        where = Where(conditions=["organization_id = $1"])
        if action:
            where.add("action = {}", action)
        if status:
            where.add("status = {}", status.value)
        return await org_page(
            info.context,
            key="Organization.actionLogs",
            select="* FROM action_logs",
            where=where,
            order="created_at DESC, id",
            build=ActionLog.from_row,
            page=Page(first, after, last, before),
        )

    @strawberry.field(description="Totals across all campaigns over a date range.")
    async def performance(self, info: Ctx, from_: FromArg, to: ToArg) -> Performance | None:
        check_range(from_, to)
        pg = info.context.postgres
        row = await pg.fetchrow(
            f"SELECT {METRIC_AGGREGATES} FROM {METRICS_FROM} WHERE m.organization_id = $1 AND m.date BETWEEN $2 AND $3",
            pg.organization_id,
            from_,
            to,
        )
        return Performance.from_row(row)

    @strawberry.field(description="Performance over a date range split by day, ISO week, channel or campaign.")
    async def performance_breakdown(
        self,
        info: Ctx,
        from_: FromArg,
        to: ToArg,
        group_by: Annotated[PerformanceGrouping, strawberry.argument(description="How to split.")],
    ) -> list[PerformanceGroup] | None:
        check_range(from_, to)
        pg = info.context.postgres
        key = {
            PerformanceGrouping.DAY: "m.date",
            PerformanceGrouping.WEEK: "date_trunc('week', m.date)::date",
            PerformanceGrouping.CHANNEL: "m.channel_id",
            PerformanceGrouping.CAMPAIGN: "m.campaign_id",
        }[group_by]
        rows = await pg.fetch(
            f"SELECT {key} AS key, {METRIC_AGGREGATES} FROM {METRICS_FROM} "
            f"WHERE m.organization_id = $1 AND m.date BETWEEN $2 AND $3 GROUP BY 1 ORDER BY 1",
            pg.organization_id,
            from_,
            to,
        )
        if group_by in (PerformanceGrouping.DAY, PerformanceGrouping.WEEK):
            return [
                PerformanceGroup(date=r["key"], channel=None, campaign=None, performance=Performance.from_row(r))
                for r in rows
            ]
        factory = loaders.channel_by_id if group_by == PerformanceGrouping.CHANNEL else loaders.campaign_by_id
        parents = await info.context.loader(factory).load_many([r["key"] for r in rows])
        groups = []
        for r, parent in zip(rows, parents, strict=True):
            groups.append(
                PerformanceGroup(
                    date=None,
                    channel=Channel.from_row(parent) if group_by == PerformanceGrouping.CHANNEL else None,
                    campaign=Campaign.from_row(parent) if group_by == PerformanceGrouping.CAMPAIGN else None,
                    performance=Performance.from_row(r),
                )
            )
        return groups
