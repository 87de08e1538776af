"""Brain states: versioned outputs of the Brain modules."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from aiodataloader import DataLoader

from gateway.context import RequestContext
from gateway.data.brain.sql import Where, loader_by_id, ordered, org_page, sort_key
from gateway.data.paging import Page, Paged
from gateway.data.rows import Row, columns
from gateway.stores.postgres import TenantReader


@dataclass(frozen=True, slots=True)
class BrainStateRow(Row):
    id: UUID
    module: str
    state: Any
    computed_at: dt.datetime
    version: int


COLUMNS = columns(BrainStateRow)


async def page(pg: TenantReader, page: Page, *, module: str | None = None) -> Paged[BrainStateRow]:
    """The history of module outputs, newest first."""
    where = Where(conditions=["organization_id = $1"])
    if module:
        where.add("module = {}", module)
    return await org_page(
        pg,
        key="Organization.brainStates",
        select=f"{COLUMNS} FROM brain_states",
        where=where,
        ordering=ordered(
            [sort_key("computed_at", "t", descending=True), sort_key("version", "i", descending=True)], "id"
        ),
        build=BrainStateRow.of,
        page=page,
    )


async def latest(pg: TenantReader) -> list[BrainStateRow]:
    """The newest output of each module."""
    rows = await pg.fetch(
        f"SELECT DISTINCT ON (module) {COLUMNS} FROM brain_states WHERE organization_id = $1 "
        "ORDER BY module, version DESC",
        pg.organization_id,
    )
    return [BrainStateRow.of(r) for r in rows]


def by_id(ctx: RequestContext) -> DataLoader[UUID, BrainStateRow | None]:
    return loader_by_id(ctx, "brain_states", COLUMNS, BrainStateRow.of)
