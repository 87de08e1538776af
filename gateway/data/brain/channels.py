"""Channels: connected platform accounts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple
from uuid import UUID

from aiodataloader import DataLoader

from gateway.core.context import RequestContext
from gateway.data.brain.sql import Sortable, Where, loader_by_id, ordering_of, org_page
from gateway.data.filters import Sort, TimeRange
from gateway.data.paging import Page, Paged
from gateway.data.rows import columns, row_of
from gateway.stores.postgres import TenantConnection, TenantReader


class ChannelRow(NamedTuple):
    id: UUID
    platform: str
    name: str
    status: str
    created_at: dt.datetime
    external_account_id: str | None


COLUMNS = columns(ChannelRow)


@dataclass(frozen=True)
class ChannelFilter:
    platforms: Sequence[str] = ()
    statuses: Sequence[str] = ()
    name_contains: str | None = None
    created_at: TimeRange | None = None
    external_account_id: str | None = None


SORTABLE = {
    "platform": Sortable("t.platform", "s"),
    "name": Sortable("t.name", "s"),
    "status": Sortable("t.status", "s"),
    "created_at": Sortable("t.created_at", "t"),
}
BY_PLATFORM = (Sort("platform"), Sort("name"))


async def page(
    pg: TenantReader, page: Page, flt: ChannelFilter, sorts: Sequence[Sort] = BY_PLATFORM
) -> Paged[ChannelRow]:
    """The organization's channels, by platform, then name, unless told otherwise."""
    where = Where(conditions=["t.organization_id = $1"])
    where.any_of("t.platform", flt.platforms)
    where.any_of("t.status", flt.statuses)
    where.contains("t.name", flt.name_contains)
    where.within("t.created_at", flt.created_at)
    if flt.external_account_id is not None:
        where.add("t.external_account_id = {}", flt.external_account_id)
    return await org_page(
        pg,
        key="Organization.channels",
        row_type=ChannelRow,
        tables="channels t",
        where=where,
        ordering=ordering_of(sorts or BY_PLATFORM, SORTABLE),
        page=page,
    )


def by_id(ctx: RequestContext) -> DataLoader[UUID, ChannelRow | None]:
    return loader_by_id(ctx, "channels", COLUMNS, row_of(ChannelRow))


# --- writes (inside a mutation's transaction) ---------------------------------------------


async def lock(tx: TenantConnection, channel_id: UUID) -> ChannelRow | None:
    """The channel, locked: a sync request and a disconnect of one channel serialise."""
    row = await tx.fetchrow(
        f"SELECT {COLUMNS} FROM channels WHERE organization_id = $1 AND id = $2 FOR UPDATE",
        tx.organization_id,
        channel_id,
    )
    return row_of(ChannelRow)(row) if row is not None else None


async def holders(tx: TenantConnection, platform: str, name: str, account: str | None) -> list[ChannelRow]:
    """The organization's channels on the platform with this name or this account id."""
    records = await tx.fetch(
        f"SELECT {COLUMNS} FROM channels WHERE organization_id = $1 AND platform = $2 "
        f"AND (name = $3 OR external_account_id = $4)",
        tx.organization_id,
        platform,
        name,
        account,
    )
    return [row_of(ChannelRow)(r) for r in records]


async def connect(tx: TenantConnection, platform: str, name: str, account: str | None) -> ChannelRow:
    row = await tx.fetchrow(
        f"INSERT INTO channels (organization_id, platform, name, external_account_id) VALUES ($1, $2, $3, $4) "
        f"RETURNING {COLUMNS}",
        tx.organization_id,
        platform,
        name,
        account,
    )
    assert row is not None
    return row_of(ChannelRow)(row)


async def update(tx: TenantConnection, channel_id: UUID, name: str, status: str, account: str | None) -> ChannelRow:
    row = await tx.fetchrow(
        f"UPDATE channels SET name = $3, status = $4, external_account_id = $5 "
        f"WHERE organization_id = $1 AND id = $2 RETURNING {COLUMNS}",
        tx.organization_id,
        channel_id,
        name,
        status,
        account,
    )
    assert row is not None  # the caller holds the row's lock
    return row_of(ChannelRow)(row)
