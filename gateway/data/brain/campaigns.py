"""Campaigns: organization-wide lists, a channel's campaigns, by id."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import NamedTuple
from uuid import UUID

from gateway.data.brain.json_text import PageSource
from gateway.data.brain.kpis import KpiFilter
from gateway.data.brain.listing import Listing
from gateway.data.brain.metrics import CAMPAIGN
from gateway.data.brain.sql import Sortable, Where, ordering_of
from gateway.data.filters import Comparison, DayRange, Sort, TimeRange
from gateway.data.rows import columns, row_of
from gateway.stores.postgres import TenantConnection


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
    version: int


COLUMNS = columns(CampaignRow)


@dataclass(frozen=True)
class CampaignFilter:
    statuses: Sequence[str] = ()
    platforms: Sequence[str] = ()
    currencies: Sequence[str] = ()
    channel_id: UUID | None = None
    name_contains: str | None = None
    created_at: TimeRange | None = None
    updated_at: TimeRange | None = None
    start_date: DayRange | None = None
    daily_budget: Comparison | None = None
    kpis: KpiFilter | None = None  # over the list's metrics range
    external_id: str | None = None


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
    where.any_of("t.currency", flt.currencies)
    if flt.channel_id:
        where.add("t.channel_id = {}", flt.channel_id)
    where.contains("t.name", flt.name_contains)
    where.within("t.created_at", flt.created_at)
    where.within("t.updated_at", flt.updated_at)
    if flt.external_id is not None:
        where.add("t.external_id = {}", flt.external_id)
    where.on_days("t.start_date", flt.start_date)
    where.compare("t.daily_budget", flt.daily_budget)
    return where


LISTING: Listing[CampaignRow, CampaignFilter] = Listing(
    table="campaigns",
    row_type=CampaignRow,
    parent="channel_id",
    measured_by=CAMPAIGN,
    sortable=SORTABLE,
    default_order=BY_NAME,
    conditions=_where,
    any_status=lambda flt: replace(flt, statuses=()),
    org_key="Organization.campaigns",
    child_key="Channel.campaigns",
    kpis=lambda flt: flt.kpis,
)
# The organization's list, each channel's list, counts by status, by id.
page = LISTING.page
counts_by_status = LISTING.counts_by_status
by_id = LISTING.by_id
pages_of_channels = LISTING.pages_of_parents
counts_of_channel = LISTING.counts_of_parent


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
