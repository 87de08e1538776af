"""Lists of a Brain table whose rows have KPIs and a parent: campaigns (of channels), creatives (of campaigns).

The organization's list and each parent's list, their counts by status, and
loading by id are the same statements for both tables; a `Listing` names the
table and its columns. Every name in it is a constant of this package, never
taken from input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, NamedTuple, TypeVar
from uuid import UUID

from aiodataloader import DataLoader

from gateway.core.context import RequestContext
from gateway.data.brain.child_pages import ChildQuery, PageKey, child_counts, child_pages, child_pages_of
from gateway.data.brain.kpis import KpiFilter
from gateway.data.brain.metrics import measured_ordering
from gateway.data.brain.sql import Sortable, Where, loader_by_id, org_page, status_counts
from gateway.data.filters import DayRange, Sort
from gateway.data.paging import Keyed, Ordering, Page, Paged
from gateway.data.rows import columns, row_of
from gateway.stores.postgres import TenantReader

R = TypeVar("R", bound=NamedTuple)
F = TypeVar("F")


# Not hashed by value: its bound methods are loader factories, which a request keys its loaders by.
@dataclass(frozen=True, eq=False)
class Listing(Generic[R, F]):
    table: str
    row_type: type[R]
    parent: str  # the column naming the parent row
    measured_by: str  # the `daily_metrics` column KPI sort keys are summed over
    sortable: Mapping[str, Sortable]
    default_order: Sequence[Sort]
    conditions: Callable[[F, int], Where]  # a filter's conditions, parameters numbered from the given one
    any_status: Callable[[F], F]  # the filter without its status part, for counts by status
    org_key: str  # the lists' cursor keys: `Organization.<x>`, `<Parent>.<x>`
    child_key: str
    kpis: Callable[[F], KpiFilter | None]  # a filter's KPI bounds, over the list's metrics range

    def _org_where(self, flt: F) -> Where:
        return self.conditions(flt, 2).of_organization()

    def _measured(self, where: Where, flt: F, sorts: Sequence[Sort], days: DayRange | None) -> tuple[str, Ordering]:
        """(join, ordering) for `sorts` (the default order when none); KPI bounds of `flt` are added to `where`."""
        return measured_ordering(
            where, sorts or self.default_order, self.sortable, self.measured_by, days, self.kpis(flt)
        )

    async def page(
        self, pg: TenantReader, page: Page, flt: F, sorts: Sequence[Sort] = (), days: DayRange | None = None
    ) -> Paged[R]:
        """The organization's rows in the order of `sorts` (measures over `days`), the default order unless told."""
        where = self._org_where(flt)
        join, ordering = self._measured(where, flt, sorts, days)
        return await org_page(
            pg,
            key=self.org_key,
            row_type=self.row_type,
            tables=f"{self.table} t {join}",
            where=where,
            ordering=ordering,
            page=page,
        )

    async def counts_by_status(self, pg: TenantReader, flt: F, days: DayRange | None = None) -> dict[str, int]:
        """The organization's rows per status, filtered by everything but status (KPIs over `days`)."""
        flt = self.any_status(flt)
        where = self._org_where(flt)
        join, _ = self._measured(where, flt, (), days)
        return await status_counts(pg, f"{self.table} t {join}", where)

    def by_id(self, ctx: RequestContext) -> DataLoader[UUID, R | None]:
        return loader_by_id(ctx, self.table, columns(self.row_type), row_of(self.row_type))

    def by_parent(self, ctx: RequestContext) -> DataLoader[PageKey, list[Keyed[R]]]:
        return child_pages(ctx, self.table, self.row_type, self.parent)

    def counts_by_parent(self, ctx: RequestContext) -> DataLoader[PageKey, dict[str, int]]:
        return child_counts(ctx, self.table, self.parent)

    async def pages_of_parents(
        self,
        ctx: RequestContext,
        parent_ids: Sequence[UUID],
        page: Page,
        flt: F,
        sorts: Sequence[Sort] = (),
        days: DayRange | None = None,
    ) -> list[Paged[R]]:
        """The rows of each parent, ordered like the organization's; one statement for all the parents."""
        where = self.conditions(flt, 3)
        join, ordering = self._measured(where, flt, sorts, days)
        return await child_pages_of(
            ctx,
            key=self.child_key,
            parents=parent_ids,
            pages=self.by_parent,
            counts=self.counts_by_parent,
            query=ChildQuery.of(where, join),
            ordering=ordering,
            page=page,
        )

    async def counts_of_parent(
        self, ctx: RequestContext, parent_id: UUID, flt: F, days: DayRange | None = None
    ) -> dict[str, int]:
        """One parent's rows per status, filtered by everything but status; siblings share one statement."""
        flt = self.any_status(flt)
        where = self.conditions(flt, 3)
        join, _ = self._measured(where, flt, (), days)
        return await ctx.loader(self.counts_by_parent).load((parent_id, ChildQuery.of(where, join)))
