"""What the Brain domain modules share: numbered conditions, the organization-wide page, loader helpers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

from aiodataloader import DataLoader

from gateway.context import RequestContext
from gateway.data.filters import Comparison, DayRange, TimeRange
from gateway.data.paging import Page, Paged, paged
from gateway.data.text import contains_text
from gateway.stores.postgres import TenantReader

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
Record = Any  # an asyncpg.Record


@dataclass
class Where:
    """SQL conditions and their parameters, numbered as they are added.

    `first` is the number of the first added parameter: $1 is the organization
    in every query here ($2 the parent ids in per-parent loaders).
    """

    first: int = 2
    conditions: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def param(self, value: Any) -> str:
        """Add a parameter and return its placeholder, e.g. `$3`."""
        self.params.append(value)
        return f"${self.first + len(self.params) - 1}"

    def add(self, condition: str, value: Any) -> None:
        """`condition` marks where the parameter goes with `{}`: `status = ANY({}::text[])`."""
        self.conditions.append(condition.format(self.param(value)))

    def any_of(self, column: str, values: Sequence[str]) -> None:
        """`column` is one of `values`; no condition when there are none."""
        if values:
            self.add(f"{column} = ANY({{}}::text[])", list(values))

    def contains(self, column: str, text: str | None) -> None:
        """Case-insensitive substring match: `%`, `_` and `\\` in the text match themselves, not patterns."""
        if not text:
            return
        escaped = contains_text(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        self.conditions.append(f"{column} ILIKE '%' || {self.param(escaped)} || '%' ESCAPE '\\'")

    def compare(self, column: str, comparison: Comparison | None, cast: str = "numeric") -> None:
        """Every bound of `comparison` holds for `column`."""
        for op, value in comparison.bounds() if comparison else []:
            self.conditions.append(f"{column} {op} {self.param(value)}::{cast}")

    def within(self, column: str, time_range: TimeRange | None) -> None:
        """`column` (a timestamptz) lies in the half-open range."""
        if time_range is None:
            return
        if time_range.start is not None:
            self.add(f"{column} >= {{}}::timestamptz", time_range.start)
        if time_range.end is not None:
            self.add(f"{column} < {{}}::timestamptz", time_range.end)

    def on_days(self, column: str, day_range: DayRange | None) -> None:
        """`column` (a date) lies in the inclusive range."""
        if day_range is None:
            return
        if day_range.first is not None:
            self.add(f"{column} >= {{}}::date", day_range.first)
        if day_range.last is not None:
            self.add(f"{column} <= {{}}::date", day_range.last)

    @property
    def clause(self) -> str:
        return " AND ".join(self.conditions) if self.conditions else "TRUE"


async def org_page(
    pg: TenantReader,
    *,
    key: str,
    select: str,
    where: Where,
    order: str,
    build: Callable[[Record], T],
    page: Page,
) -> Paged[T]:
    """One page of an organization-level list plus a lazily counted total.

    `select` is `<columns> FROM <tables>`; `where` conditions may use $1 (the
    organization id) and their own parameters; `order` must end in a unique key
    so offsets are stable.
    """
    args = [pg.organization_id, *where.params]
    clause = where.clause
    count_from = select.split(" FROM ", 1)[1]

    async def count() -> int:
        return int(await pg.fetchval(f"SELECT count(*) FROM {count_from} WHERE {clause}", *args))

    async def fetch(offset: int, limit: int) -> list[T]:
        rows = await pg.fetch(
            f"SELECT {select} WHERE {clause} ORDER BY {order} OFFSET ${len(args) + 1} LIMIT ${len(args) + 2}",
            *args,
            offset,
            limit,
        )
        return [build(r) for r in rows]

    return await paged(key, page, count, fetch)


def grouped(keys: Sequence[tuple[UUID, K]]) -> dict[K, list[UUID]]:
    """Per-parent loader keys bucketed by their arguments: one statement per distinct argument set."""
    # Parents kept in first-seen order without repeats; a dict finds a repeat at once, where
    # a list search made a batch of a thousand keys quadratic.
    groups: dict[K, dict[UUID, None]] = defaultdict(dict)
    for parent, args in keys:
        groups[args][parent] = None
    return {args: list(parents) for args, parents in groups.items()}


def loader_by_id(
    ctx: RequestContext, table: str, columns: str, build: Callable[[Record], T]
) -> DataLoader[UUID, T | None]:
    """Rows of `table` by id, one statement per batch."""

    async def load(ids: Sequence[UUID]) -> list[T | None]:
        pg = ctx.postgres
        rows = await pg.fetch(
            f"SELECT {columns} FROM {table} WHERE organization_id = $1 AND id = ANY($2::uuid[])",
            pg.organization_id,
            list(ids),
        )
        found = {r["id"]: build(r) for r in rows}
        return [found.get(i) for i in ids]

    return DataLoader(load)


# --- child lists, paged per parent in one statement -------------------------------------


@dataclass(frozen=True)
class ChildQuery:
    """What a per-parent page asks for: filters (SQL + params), order, and the window."""

    conditions: tuple[str, ...]  # may use $3.. ($1 = organization, $2 = parent ids)
    params: tuple[Any, ...]
    order: str
    offset: int = 0
    limit: int = 0

    @classmethod
    def of(cls, where: Where, order: str) -> ChildQuery:
        # Loader keys must hash; list-valued parameters become tuples.
        params = tuple(tuple(p) if isinstance(p, list) else p for p in where.params)
        return cls(tuple(where.conditions), params, order)


PageKey = tuple[UUID, ChildQuery]


def child_pages(
    ctx: RequestContext, table: str, columns: str, parent: str, build: Callable[[Record], T]
) -> DataLoader[PageKey, list[T]]:
    async def load(keys: Sequence[PageKey]) -> list[list[T]]:
        pg = ctx.postgres
        found: dict[PageKey, list[T]] = defaultdict(list)
        for query, parents in grouped(keys).items():
            where = " AND ".join(("organization_id = $1", f"{parent} = ANY($2::uuid[])", *query.conditions))
            n = 3 + len(query.params)
            rows = await pg.fetch(
                f"SELECT * FROM (SELECT {columns}, {parent} AS parent_key, "
                f"row_number() OVER (PARTITION BY {parent} ORDER BY {query.order}) AS position "
                f"FROM {table} WHERE {where}) ranked "
                f"WHERE position > ${n} AND position <= ${n} + ${n + 1} ORDER BY parent_key, position",
                pg.organization_id,
                parents,
                *query.params,
                query.offset,
                query.limit,
            )
            # Bucketed by parent first: a key of (parent, query) hashes the whole query per row.
            by_parent: dict[UUID, list[T]] = defaultdict(list)
            for r in rows:
                by_parent[r["parent_key"]].append(build(r))
            found.update({(parent_key, query): items for parent_key, items in by_parent.items()})
        return [found.get(k, []) for k in keys]

    return DataLoader(load)


def child_counts(ctx: RequestContext, table: str, parent: str) -> DataLoader[PageKey, int]:
    async def load(keys: Sequence[PageKey]) -> list[int]:
        pg = ctx.postgres
        found: dict[PageKey, int] = {}
        for query, parents in grouped(keys).items():
            where = " AND ".join(("organization_id = $1", f"{parent} = ANY($2::uuid[])", *query.conditions))
            rows = await pg.fetch(
                f"SELECT {parent} AS parent_key, count(*) AS n FROM {table} WHERE {where} GROUP BY {parent}",
                pg.organization_id,
                parents,
                *query.params,
            )
            found.update({(r["parent_key"], query): int(r["n"]) for r in rows})
        return [found.get(k, 0) for k in keys]

    return DataLoader(load)


async def child_page(
    ctx: RequestContext,
    *,
    key: str,
    parent: UUID,
    pages: Callable[[RequestContext], DataLoader[PageKey, list[T]]],
    counts: Callable[[RequestContext], DataLoader[PageKey, int]],
    query: ChildQuery,
    page: Page,
) -> Paged[T]:
    """A per-parent page served by the batched window-function loaders."""

    async def count() -> int:
        return int(await ctx.loader(counts).load((parent, query)))

    async def fetch(offset: int, limit: int) -> list[T]:
        paged_query = ChildQuery(query.conditions, query.params, query.order, offset, limit)
        return await ctx.loader(pages).load((parent, paged_query))

    return await paged(key, page, count, fetch)
