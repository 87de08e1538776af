"""Creatives: organization-wide lists, a campaign's creatives, by id."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from aiodataloader import DataLoader

from gateway.context import RequestContext
from gateway.data.brain.metrics import CREATIVE, Order, ordering
from gateway.data.brain.sql import (
    ChildQuery,
    PageKey,
    Where,
    child_counts,
    child_page,
    child_pages,
    loader_by_id,
    org_page,
)
from gateway.data.paging import Keyed, Page, Paged
from gateway.data.rows import Row, columns
from gateway.stores.postgres import TenantConnection, TenantReader


@dataclass(frozen=True, slots=True)
class CreativeRow(Row):
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
    name_contains: str | None = None


def _filtered(where: Where, flt: CreativeFilter, alias: str = "") -> Where:
    where.any_of(f"{alias}status", flt.statuses)
    where.any_of(f"{alias}format", flt.formats)
    where.contains(f"{alias}name", flt.name_contains)
    return where


async def page(
    pg: TenantReader,
    page: Page,
    flt: CreativeFilter,
    *,
    campaign_id: UUID | None = None,
    order: Order | None = None,
) -> Paged[CreativeRow]:
    """The organization's creatives, by name unless `order` says otherwise."""
    where = _filtered(Where(conditions=["k.organization_id = $1"]), flt, alias="k.")
    if campaign_id:
        where.add("k.campaign_id = {}", campaign_id)
    join, by = ordering(where, order, "k", CREATIVE)
    return await org_page(
        pg,
        key="Organization.creatives",
        select=f"{columns(CreativeRow, 'k.')} FROM creatives k {join}",
        where=where,
        ordering=by,
        build=CreativeRow.of,
        page=page,
    )


def by_id(ctx: RequestContext) -> DataLoader[UUID, CreativeRow | None]:
    return loader_by_id(ctx, "creatives", COLUMNS, CreativeRow.of)


def by_campaign(ctx: RequestContext) -> DataLoader[PageKey, list[Keyed[CreativeRow]]]:
    return child_pages(ctx, "creatives", columns(CreativeRow, "t."), "campaign_id", CreativeRow.of)


def counts_by_campaign(ctx: RequestContext) -> DataLoader[PageKey, int]:
    return child_counts(ctx, "creatives", "campaign_id")


async def page_of_campaign(
    ctx: RequestContext, campaign_id: UUID, page: Page, flt: CreativeFilter
) -> Paged[CreativeRow]:
    """One campaign's creatives by name; pages of sibling campaigns share one statement."""
    return await child_page(
        ctx,
        key="Campaign.creatives",
        parent=campaign_id,
        pages=by_campaign,
        counts=counts_by_campaign,
        query=ChildQuery.of(_filtered(Where(first=3), flt, alias="t.")),
        ordering=ordering(Where(first=3), None, "t", CREATIVE)[1],
        page=page,
    )


# --- writes (inside a mutation's transaction) ---------------------------------------------


async def lock(tx: TenantConnection, creative_id: UUID) -> CreativeRow | None:
    row = await tx.fetchrow(
        f"SELECT {COLUMNS} FROM creatives WHERE organization_id = $1 AND id = $2 FOR UPDATE",
        tx.organization_id,
        creative_id,
    )
    assert row is not None  # the caller holds the row's lock
    return CreativeRow.of(row) if row is not None else None


async def set_status(tx: TenantConnection, creative_id: UUID, status: str) -> CreativeRow:
    row = await tx.fetchrow(
        f"UPDATE creatives SET status = $3, updated_at = now() WHERE organization_id = $1 AND id = $2 "
        f"RETURNING {COLUMNS}",
        tx.organization_id,
        creative_id,
        status,
    )
    assert row is not None  # the caller holds the row's lock
    return CreativeRow.of(row)


@dataclass(frozen=True, slots=True)
class CreativeHome(Row):
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
    return {r["id"]: CreativeHome.of(r) for r in records}
