"""Creatives: organization-wide lists, a campaign's creatives, by id."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple
from uuid import UUID

from aiodataloader import DataLoader

from gateway.core.context import RequestContext
from gateway.data.brain.json_text import PageSource
from gateway.data.brain.metrics import CREATIVE, measured_ordering
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
from gateway.data.filters import DayRange, Sort, TimeRange
from gateway.data.paging import Keyed, Page, Paged
from gateway.data.rows import columns, row_of
from gateway.stores.postgres import TenantConnection, TenantReader


class CreativeRow(NamedTuple):
    id: UUID
    campaign_id: UUID
    external_id: str
    name: str
    format: str
    status: str
    headline: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


COLUMNS = columns(CreativeRow)


@dataclass(frozen=True)
class CreativeFilter:
    statuses: Sequence[str] = ()
    formats: Sequence[str] = ()
    campaign_id: UUID | None = None
    name_contains: str | None = None
    created_at: TimeRange | None = None
    updated_at: TimeRange | None = None


SORTABLE = {
    "name": Sortable("t.name", "s"),
    "status": Sortable("t.status", "s"),
    "format": Sortable("t.format", "s"),
    "created_at": Sortable("t.created_at", "t"),
    "updated_at": Sortable("t.updated_at", "t"),
}
BY_NAME = (Sort("name"),)
# A campaign's creatives in their default order, for PostgreSQL to write as JSON (`json_text`).
JSON_PAGE = PageSource("creatives", ordering_of(BY_NAME, SORTABLE), parent="campaign_id")


def _where(flt: CreativeFilter, first: int) -> Where:
    where = Where(first)
    where.any_of("t.status", flt.statuses)
    where.any_of("t.format", flt.formats)
    if flt.campaign_id:
        where.add("t.campaign_id = {}", flt.campaign_id)
    where.contains("t.name", flt.name_contains)
    where.within("t.created_at", flt.created_at)
    where.within("t.updated_at", flt.updated_at)
    return where


def _org_where(flt: CreativeFilter) -> Where:
    return _where(flt, 2).of_organization()


async def page(
    pg: TenantReader, page: Page, flt: CreativeFilter, sorts: Sequence[Sort] = BY_NAME, days: DayRange | None = None
) -> Paged[CreativeRow]:
    """The organization's creatives in the order of `sorts` (measures over `days`), by name unless told."""
    where = _org_where(flt)
    join, ordering = measured_ordering(where, sorts or BY_NAME, SORTABLE, CREATIVE, days)
    return await org_page(
        pg,
        key="Organization.creatives",
        row_type=CreativeRow,
        tables=f"creatives t {join}",
        where=where,
        ordering=ordering,
        page=page,
    )


async def counts_by_status(pg: TenantReader, flt: CreativeFilter) -> dict[str, int]:
    """The organization's creatives per status, filtered by everything but status."""
    return await status_counts(pg, "creatives t", _org_where(replace(flt, statuses=())))


def by_id(ctx: RequestContext) -> DataLoader[UUID, CreativeRow | None]:
    return loader_by_id(ctx, "creatives", COLUMNS, row_of(CreativeRow))


def by_campaign(ctx: RequestContext) -> DataLoader[PageKey, list[Keyed[CreativeRow]]]:
    return child_pages(ctx, "creatives", CreativeRow, "campaign_id")


def counts_by_campaign(ctx: RequestContext) -> DataLoader[PageKey, dict[str, int]]:
    return child_counts(ctx, "creatives", "campaign_id")


async def pages_of_campaigns(
    ctx: RequestContext,
    campaign_ids: Sequence[UUID],
    page: Page,
    flt: CreativeFilter,
    sorts: Sequence[Sort] = BY_NAME,
    days: DayRange | None = None,
) -> list[Paged[CreativeRow]]:
    """The creatives of each campaign, ordered like the organization's; one statement for all the campaigns."""
    where = _where(flt, 3)
    join, ordering = measured_ordering(where, sorts or BY_NAME, SORTABLE, CREATIVE, days)
    return await child_pages_of(
        ctx,
        key="Campaign.creatives",
        parents=campaign_ids,
        pages=by_campaign,
        counts=counts_by_campaign,
        query=ChildQuery.of(where, join),
        ordering=ordering,
        page=page,
    )


async def counts_of_campaign(ctx: RequestContext, campaign_id: UUID, flt: CreativeFilter) -> dict[str, int]:
    """One campaign's creatives per status, filtered by everything but status; siblings share one statement."""
    query = ChildQuery.of(_where(replace(flt, statuses=()), 3))
    return await ctx.loader(counts_by_campaign).load((campaign_id, query))


# --- writes (inside a mutation's transaction) ---------------------------------------------


async def lock(tx: TenantConnection, creative_id: UUID) -> CreativeRow | None:
    row = await tx.fetchrow(
        f"SELECT {COLUMNS} FROM creatives WHERE organization_id = $1 AND id = $2 FOR UPDATE",
        tx.organization_id,
        creative_id,
    )
    # None for an id of another organization (filtered here, and hidden by row-level security) or no row at all.
    return row_of(CreativeRow)(row) if row is not None else None


async def set_status(tx: TenantConnection, creative_id: UUID, status: str) -> CreativeRow:
    row = await tx.fetchrow(
        f"UPDATE creatives SET status = $3, updated_at = now() WHERE organization_id = $1 AND id = $2 "
        f"RETURNING {COLUMNS}",
        tx.organization_id,
        creative_id,
        status,
    )
    assert row is not None  # the caller holds the row's lock
    return row_of(CreativeRow)(row)


class CreativeHome(NamedTuple):
    """Where a creative lives: the campaign and channel its metrics are filed under."""

    id: UUID
    campaign_id: UUID
    channel_id: UUID
    platform: str


async def homes(tx: TenantConnection, creative_ids: Sequence[UUID]) -> dict[UUID, CreativeHome]:
    """The homes of the creatives, in one statement.

    An id of another organization is simply absent (filtered here, and hidden
    by row-level security), so it reads as unknown.
    """
    records = await tx.fetch(
        "SELECT cr.id, cr.campaign_id, ca.channel_id, ch.platform FROM creatives cr "
        "JOIN campaigns ca ON ca.organization_id = cr.organization_id AND ca.id = cr.campaign_id "
        "JOIN channels ch ON ch.organization_id = ca.organization_id AND ch.id = ca.channel_id "
        "WHERE cr.organization_id = $1 AND cr.id = ANY($2::uuid[])",
        tx.organization_id,
        list(creative_ids),
    )
    return {r["id"]: row_of(CreativeHome)(r) for r in records}
