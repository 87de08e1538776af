"""Customer cohorts by acquisition month and channel."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple
from uuid import UUID

from aiodataloader import DataLoader

from gateway.core.context import RequestContext
from gateway.data.brain.sql import Sortable, Where, loader_by_id, ordering_of, org_page
from gateway.data.filters import Comparison, DayRange, Sort
from gateway.data.paging import Page, Paged
from gateway.data.rows import columns, row_of
from gateway.stores.postgres import TenantReader


class CohortRow(NamedTuple):
    id: UUID
    channel_id: UUID
    cohort_month: dt.date
    customers: int
    ltv_30: Decimal | None
    ltv_90: Decimal | None
    ltv_180: Decimal | None
    currency: str
    retention: Any


COLUMNS = columns(CohortRow)


@dataclass(frozen=True)
class CohortFilter:
    channel_id: UUID | None = None
    months: DayRange | None = None
    customers: Comparison | None = None


SORTABLE = {"month": Sortable("t.cohort_month", "d"), "customers": Sortable("t.customers", "i")}
NEWEST_FIRST = (Sort("month", descending=True),)


async def page(
    pg: TenantReader, page: Page, flt: CohortFilter, sorts: Sequence[Sort] = NEWEST_FIRST
) -> Paged[CohortRow]:
    """Cohorts, newest month first unless told otherwise."""
    where = Where(conditions=["t.organization_id = $1"])
    if flt.channel_id:
        where.add("t.channel_id = {}", flt.channel_id)
    where.on_days("t.cohort_month", flt.months)
    where.compare("t.customers", flt.customers, "bigint")
    return await org_page(
        pg,
        key="Organization.cohorts",
        row_type=CohortRow,
        tables="cohorts t",
        where=where,
        ordering=ordering_of(sorts or NEWEST_FIRST, SORTABLE),
        page=page,
    )


def by_id(ctx: RequestContext) -> DataLoader[UUID, CohortRow | None]:
    return loader_by_id(ctx, "cohorts", COLUMNS, row_of(CohortRow))


def by_channel(ctx: RequestContext) -> DataLoader[UUID, list[CohortRow]]:
    """Each channel's cohorts, newest month first."""

    async def load(ids: Sequence[UUID]) -> list[list[CohortRow]]:
        pg = ctx.postgres
        rows = await pg.fetch(
            f"SELECT {COLUMNS} FROM cohorts WHERE organization_id = $1 AND channel_id = ANY($2::uuid[]) "
            "ORDER BY channel_id, cohort_month DESC",
            pg.organization_id,
            list(ids),
        )
        found: dict[UUID, list[CohortRow]] = defaultdict(list)
        for r in rows:
            found[r["channel_id"]].append(row_of(CohortRow)(r))
        return [found.get(i, []) for i in ids]

    return DataLoader(load)
