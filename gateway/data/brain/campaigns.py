"""Campaigns: organization-wide lists, a channel's campaigns, by id."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from aiodataloader import DataLoader

from gateway.context import RequestContext
from gateway.data.brain.metrics import CAMPAIGN, Order, ordering
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
class CampaignRow(Row):
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


async def page(
    pg: TenantReader,
    page: Page,
    *,
    statuses: Sequence[str] = (),
    platforms: Sequence[str] = (),
    channel_id: UUID | None = None,
    name_contains: str | None = None,
    order: Order | None = None,
) -> Paged[CampaignRow]:
    """The organization's campaigns, by name unless `order` says otherwise."""
    where = Where(conditions=["c.organization_id = $1"])
    where.any_of("c.status", statuses)
    if platforms:
        where.add(
            "c.channel_id IN (SELECT id FROM channels WHERE organization_id = $1 AND platform = ANY({}::text[]))",
            list(platforms),
        )
    if channel_id:
        where.add("c.channel_id = {}", channel_id)
    where.contains("c.name", name_contains)
    join, by = ordering(where, order, "c", CAMPAIGN)
    return await org_page(
        pg,
        key="Organization.campaigns",
        select=f"{columns(CampaignRow, 'c.')} FROM campaigns c {join}",
        where=where,
        ordering=by,
        build=CampaignRow.of,
        page=page,
    )


def by_id(ctx: RequestContext) -> DataLoader[UUID, CampaignRow | None]:
    return loader_by_id(ctx, "campaigns", COLUMNS, CampaignRow.of)


def by_channel(ctx: RequestContext) -> DataLoader[PageKey, list[Keyed[CampaignRow]]]:
    return child_pages(ctx, "campaigns", columns(CampaignRow, "t."), "channel_id", CampaignRow.of)


def counts_by_channel(ctx: RequestContext) -> DataLoader[PageKey, int]:
    return child_counts(ctx, "campaigns", "channel_id")


async def page_of_channel(
    ctx: RequestContext, channel_id: UUID, page: Page, *, statuses: Sequence[str] = ()
) -> Paged[CampaignRow]:
    """One channel's campaigns by name; pages of sibling channels share one statement."""
    where = Where(first=3)
    where.any_of("t.status", statuses)
    return await child_page(
        ctx,
        key="Channel.campaigns",
        parent=channel_id,
        pages=by_channel,
        counts=counts_by_channel,
        query=ChildQuery.of(where),
        ordering=ordering(where, None, "t", CAMPAIGN)[1],
        page=page,
    )


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
    return {r["id"]: CampaignRow.of(r) for r in rows}


async def set_budget(tx: TenantConnection, campaign_id: UUID, budget: Decimal) -> CampaignRow:
    row = await tx.fetchrow(
        f"UPDATE campaigns SET daily_budget = $3, updated_at = now() WHERE organization_id = $1 AND id = $2 "
        f"RETURNING {COLUMNS}",
        tx.organization_id,
        campaign_id,
        budget,
    )
    assert row is not None  # the caller holds the row's lock
    return CampaignRow.of(row)
