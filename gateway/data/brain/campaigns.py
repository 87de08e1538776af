"""Campaigns: organization-wide lists, a channel's campaigns, by id."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import NamedTuple
from uuid import UUID

from aiodataloader import DataLoader

from gateway.core.context import RequestContext
from gateway.data.brain.json_text import PageSource
from gateway.data.brain.metrics import CAMPAIGN, measured_ordering
from gateway.data.brain.sql import (
    ChildQuery,
    PageKey,
    Sortable,
    Where,
    child_counts,
    child_pages,
    child_pages_of,
    loader_by_id,
    ordering_of,
    org_page,
    status_counts,
)
from gateway.data.filters import Comparison, DayRange, Sort, TimeRange
from gateway.data.paging import Keyed, Page, Paged
from gateway.data.rows import columns, row_of
from gateway.stores.postgres import TenantConnection, TenantReader


class CampaignRow(NamedTuple):
    id: UUID
    channel_id: UUID
    name: str
    external_id: str
    status: str
    daily_budget: Decimal
    currency: str
    objective: str | None
    start_date: dt.date | None
    end_date: dt.date | None
    created_at: dt.datetime
    updated_at: dt.datetime


COLUMNS = columns(CampaignRow)


@dataclass(frozen=True)
class CampaignFilter:
    statuses: Sequence[str] = ()
    platforms: Sequence[str] = ()
    channel_id: UUID | None = None
    name_contains: str | None = None
    created_at: TimeRange | None = None
    updated_at: TimeRange | None = None
    start_date: DayRange | None = None
    daily_budget: Comparison | None = None


SORTABLE = {
    "name": Sortable("t.name", "s"),
    "status": Sortable("t.status", "s"),
    "created_at": Sortable("t.created_at", "t"),
    "updated_at": Sortable("t.updated_at", "t"),
    "start_date": Sortable("t.start_date", "d", nullable=True),
    "daily_budget": Sortable("t.daily_budget", "n"),
}
BY_NAME = (Sort("name"),)
# The organization's campaigns in their default order, for PostgreSQL to write as JSON (`json_text`).
JSON_PAGE = PageSource("campaigns", ordering_of(BY_NAME, SORTABLE))


def _where(flt: CampaignFilter, first: int) -> Where:
    where = Where(first)
    where.any_of("t.status", flt.statuses)
    if flt.platforms:
        where.add(
            "t.channel_id IN (SELECT id FROM channels WHERE organization_id = $1 AND platform = ANY({}::text[]))",
            list(flt.platforms),
        )
    if flt.channel_id:
        where.add("t.channel_id = {}", flt.channel_id)
    where.contains("t.name", flt.name_contains)
    where.within("t.created_at", flt.created_at)
    where.within("t.updated_at", flt.updated_at)
    where.on_days("t.start_date", flt.start_date)
    where.compare("t.daily_budget", flt.daily_budget)
    return where


def _org_where(flt: CampaignFilter) -> Where:
    return _where(flt, 2).of_organization()


async def page(
    pg: TenantReader, page: Page, flt: CampaignFilter, sorts: Sequence[Sort] = BY_NAME, days: DayRange | None = None
) -> Paged[CampaignRow]:
    """The organization's campaigns in the order of `sorts` (measures over `days`), by name unless told."""
    where = _org_where(flt)
    join, ordering = measured_ordering(where, sorts or BY_NAME, SORTABLE, CAMPAIGN, days)
    return await org_page(
        pg,
        key="Organization.campaigns",
        row_type=CampaignRow,
        tables=f"campaigns t {join}",
        where=where,
        ordering=ordering,
        page=page,
    )


async def counts_by_status(pg: TenantReader, flt: CampaignFilter) -> dict[str, int]:
    """The organization's campaigns per status, filtered by everything but status."""
    return await status_counts(pg, "campaigns t", _org_where(replace(flt, statuses=())))


def by_id(ctx: RequestContext) -> DataLoader[UUID, CampaignRow | None]:
    return loader_by_id(ctx, "campaigns", COLUMNS, row_of(CampaignRow))


def by_channel(ctx: RequestContext) -> DataLoader[PageKey, list[Keyed[CampaignRow]]]:
    return child_pages(ctx, "campaigns", CampaignRow, "channel_id")


def counts_by_channel(ctx: RequestContext) -> DataLoader[PageKey, dict[str, int]]:
    return child_counts(ctx, "campaigns", "channel_id")


async def pages_of_channels(
    ctx: RequestContext,
    channel_ids: Sequence[UUID],
    page: Page,
    flt: CampaignFilter,
    sorts: Sequence[Sort] = BY_NAME,
    days: DayRange | None = None,
) -> list[Paged[CampaignRow]]:
    """The campaigns of each channel, ordered like the organization's; one statement for all the channels."""
    where = _where(flt, 3)
    join, ordering = measured_ordering(where, sorts or BY_NAME, SORTABLE, CAMPAIGN, days)
    return await child_pages_of(
        ctx,
        key="Channel.campaigns",
        parents=channel_ids,
        pages=by_channel,
        counts=counts_by_channel,
        query=ChildQuery.of(where, join),
        ordering=ordering,
        page=page,
    )


async def counts_of_channel(ctx: RequestContext, channel_id: UUID, flt: CampaignFilter) -> dict[str, int]:
    """One channel's campaigns per status, filtered by everything but status; sibling channels share one statement."""
    query = ChildQuery.of(_where(replace(flt, statuses=()), 3))
    return await ctx.loader(counts_by_channel).load((channel_id, query))


# --- writes (inside a mutation's transaction) ---------------------------------------------


async def lock(tx: TenantConnection, ids: Sequence[UUID]) -> dict[UUID, CampaignRow]:
    """The campaigns, locked for update in id order.

    Whatever order the caller names them in, two transactions over the same
    campaigns cannot wait on each other in opposite orders (no deadlock).
    """
    rows = await tx.fetch(
        f"SELECT {COLUMNS} FROM campaigns WHERE organization_id = $1 AND id = ANY($2::uuid[]) ORDER BY id FOR UPDATE",
        tx.organization_id,
        sorted(ids),
    )
    return {r["id"]: row_of(CampaignRow)(r) for r in rows}


async def known(tx: TenantConnection, ids: Sequence[UUID]) -> set[UUID]:
    """Which of the ids are campaigns of the organization (one of another organization is simply absent)."""
    rows = await tx.fetch(
        "SELECT id FROM campaigns WHERE organization_id = $1 AND id = ANY($2::uuid[])", tx.organization_id, list(ids)
    )
    return {r["id"] for r in rows}


async def set_budget(tx: TenantConnection, campaign_id: UUID, budget: Decimal) -> CampaignRow:
    row = await tx.fetchrow(
        f"UPDATE campaigns SET daily_budget = $3, updated_at = now() WHERE organization_id = $1 AND id = $2 "
        f"RETURNING {COLUMNS}",
        tx.organization_id,
        campaign_id,
        budget,
    )
    assert row is not None  # the caller holds the row's lock
    return row_of(CampaignRow)(row)
