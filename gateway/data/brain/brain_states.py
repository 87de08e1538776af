"""Brain states: versioned outputs of the Brain modules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from uuid import UUID

from aiodataloader import DataLoader

from gateway.core.context import RequestContext
from gateway.data.brain.sql import Sortable, Where, loader_by_id, ordering_of, org_page
from gateway.data.filters import Comparison, Sort, TimeRange
from gateway.data.paging import Page, Paged
from gateway.data.rows import columns, row_of
from gateway.stores.postgres import TenantConnection, TenantReader


class BrainStateRow(NamedTuple):
    id: UUID
    module: str
    state: Any
    computed_at: dt.datetime
    version: int


COLUMNS = columns(BrainStateRow)


@dataclass(frozen=True)
class BrainStateFilter:
    modules: Sequence[str] = ()
    computed_at: TimeRange | None = None
    version: Comparison | None = None


SORTABLE = {
    "computed_at": Sortable("t.computed_at", "t"),
    "module": Sortable("t.module", "s"),
    "version": Sortable("t.version", "i"),
}
NEWEST_FIRST = (Sort("computed_at", descending=True), Sort("version", descending=True))


async def page(
    pg: TenantReader, page: Page, flt: BrainStateFilter, sorts: Sequence[Sort] = NEWEST_FIRST
) -> Paged[BrainStateRow]:
    """The history of module outputs, newest first unless told otherwise."""
    where = Where(conditions=["t.organization_id = $1"])
    where.any_of("t.module", flt.modules)
    where.within("t.computed_at", flt.computed_at)
    where.compare("t.version", flt.version, "bigint")
    return await org_page(
        pg,
        key="Organization.brainStates",
        row_type=BrainStateRow,
        tables="brain_states t",
        where=where,
        ordering=ordering_of(sorts or NEWEST_FIRST, SORTABLE),
        page=page,
    )


async def latest(pg: TenantReader) -> list[BrainStateRow]:
    """The newest output of each module."""
    rows = await pg.fetch(
        f"SELECT DISTINCT ON (module) {COLUMNS} FROM brain_states WHERE organization_id = $1 "
        "ORDER BY module, version DESC",
        pg.organization_id,
    )
    return [row_of(BrainStateRow)(r) for r in rows]


def by_id(ctx: RequestContext) -> DataLoader[UUID, BrainStateRow | None]:
    return loader_by_id(ctx, "brain_states", COLUMNS, row_of(BrainStateRow))


# --- writes (inside a mutation's transaction) ---------------------------------------------


async def newest_version(tx: TenantConnection, module: str) -> int:
    """The module's newest version (0 before the first), its publication held until commit.

    The transaction-scoped lock serialises publications of one module of one organization,
    so two concurrent publishers cannot both pass the check with the same version.
    """
    await tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"brain_state:{tx.organization_id}:{module}")
    version = await tx.fetchval(
        "SELECT max(version) FROM brain_states WHERE organization_id = $1 AND module = $2",
        tx.organization_id,
        module,
    )
    return int(version or 0)


async def insert(tx: TenantConnection, module: str, state: Any, version: int) -> BrainStateRow:
    row = await tx.fetchrow(
        f"INSERT INTO brain_states (organization_id, module, state, version, computed_at) "
        f"VALUES ($1, $2, $3, $4, now()) RETURNING {COLUMNS}",
        tx.organization_id,
        module,
        state,
        version,
    )
    assert row is not None
    return row_of(BrainStateRow)(row)
