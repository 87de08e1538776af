"""Channels: connected platform accounts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from aiodataloader import DataLoader

from gateway.context import RequestContext
from gateway.data.brain.sql import Where, loader_by_id, ordered, org_page, sort_key
from gateway.data.paging import Page, Paged
from gateway.data.rows import Row, columns
from gateway.stores.postgres import TenantReader


@dataclass(frozen=True, slots=True)
class ChannelRow(Row):
    id: UUID
    platform: str
    name: str
    status: str
    created_at: dt.datetime


COLUMNS = columns(ChannelRow)


async def page(pg: TenantReader, page: Page, *, platforms: Sequence[str] = ()) -> Paged[ChannelRow]:
    """The organization's channels by platform, then name."""
    where = Where(conditions=["organization_id = $1"])
    where.any_of("platform", platforms)
    return await org_page(
        pg,
        key="Organization.channels",
        select=f"{COLUMNS} FROM channels",
        where=where,
        ordering=ordered([sort_key("platform", "s"), sort_key("name", "s")], "id"),
        build=ChannelRow.of,
        page=page,
    )


def by_id(ctx: RequestContext) -> DataLoader[UUID, ChannelRow | None]:
    return loader_by_id(ctx, "channels", COLUMNS, ChannelRow.of)
