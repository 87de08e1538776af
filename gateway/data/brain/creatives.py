"""Creatives: organization-wide lists, a campaign's creatives, by id."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple
from uuid import UUID

from gateway.data.brain.json_text import PageSource
from gateway.data.brain.kpis import KpiFilter
from gateway.data.brain.listing import Listing
from gateway.data.brain.metrics import CREATIVE
from gateway.data.brain.sql import Sortable, Where, ordering_of
from gateway.data.filters import Sort, TimeRange
from gateway.data.rows import columns, row_of
from gateway.stores.postgres import TenantConnection


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
    kpis: KpiFilter | None = None  # over the list's metrics range
    external_id: str | None = None


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
    if flt.external_id is not None:
        where.add("t.external_id = {}", flt.external_id)
    return where


LISTING: Listing[CreativeRow, CreativeFilter] = Listing(
    table="creatives",
    row_type=CreativeRow,
    parent="campaign_id",
    measured_by=CREATIVE,
    sortable=SORTABLE,
    default_order=BY_NAME,
    conditions=_where,
    any_status=lambda flt: replace(flt, statuses=()),
    org_key="Organization.creatives",
    child_key="Campaign.creatives",
    kpis=lambda flt: flt.kpis,
)
# The organization's list, each campaign's list, counts by status, by id.
page = LISTING.page
counts_by_status = LISTING.counts_by_status
by_id = LISTING.by_id
pages_of_campaigns = LISTING.pages_of_parents
counts_of_campaign = LISTING.counts_of_parent


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
