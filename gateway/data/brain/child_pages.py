"""Child lists paged per parent in one statement: a page of each parent's rows, and their counts by status."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple, TypeVar
from uuid import UUID

from aiodataloader import DataLoader

from gateway.core.context import RequestContext
from gateway.data.brain.sql import Selected, Where, grouped, order_by, seeking
from gateway.data.paging import Count, Keyed, Ordering, Page, Paged, Seek, paged_many

T = TypeVar("T")
R = TypeVar("R", bound=NamedTuple)


@dataclass(frozen=True)
class ChildQuery:
    """What per-parent pages ask for: joins, filters (SQL + params), and for a page its seek and size.

    `table` is aliased `t`: conditions, joins and sort keys name its columns `t.<name>`.
    """

    join: str
    conditions: tuple[str, ...]  # may use $3.. ($1 = organization, $2 = parent ids)
    params: tuple[Any, ...]
    order: Ordering | None = None  # the order to fetch in, for a page; None for a count
    limit: int = 0
    fields: frozenset[str] | None = None  # the row fields a page's reader uses (see `Selected.of`)

    @classmethod
    def of(cls, where: Where, join: str = "") -> ChildQuery:
        # Loader keys must hash; list-valued parameters become tuples.
        params = tuple(tuple(p) if isinstance(p, list) else p for p in where.params)
        return cls(join, tuple(where.conditions), params)

    def where(self) -> Where:
        return Where(3, list(self.conditions), [list(p) if isinstance(p, tuple) else p for p in self.params])


PageKey = tuple[UUID, ChildQuery]


def _child_where(parent: str, query: ChildQuery | Where, by_text: bool = False) -> str:
    parents = f"t.{parent} = ANY($2::{'text' if by_text else 'uuid'}[])"
    return " AND ".join(("t.organization_id = $1", parents, *query.conditions))


def _parents(parents: list[UUID], by_text: bool) -> list[UUID] | list[str]:
    # A parent named in a text column (a log's `target_id`) is compared as the UUID's text.
    return [str(p) for p in parents] if by_text else parents


def child_pages(
    ctx: RequestContext, table: str, row_type: type[R], parent: str, by_text: bool = False
) -> DataLoader[PageKey, list[Keyed[R]]]:
    """Pages of many parents' children, one statement per distinct query: each parent's first rows past the seek.

    `by_text`: the parent column holds the parents' ids as text, not as uuid.
    """

    async def load(keys: Sequence[PageKey]) -> list[list[Keyed[R]]]:
        pg = ctx.postgres
        found: dict[PageKey, list[Keyed[R]]] = defaultdict(list)
        for query, parents in grouped(keys).items():
            assert query.order is not None
            where = query.where()
            limit = where.param(query.limit)
            selected = Selected.of(row_type, query.order, parent, query.fields)
            rows = await pg.fetch(
                f"SELECT {selected.output_names()} FROM (SELECT {selected.select_list()}, "
                f"row_number() OVER (PARTITION BY t.{parent} ORDER BY {order_by(query.order)}) AS position "
                f"FROM {table} t {query.join} WHERE {_child_where(parent, where, by_text)}) ranked "
                f"WHERE position <= {limit} ORDER BY {selected.parent_name}, position",
                pg.organization_id,
                _parents(parents, by_text),
                *where.params,
            )
            # Bucketed by parent first: a key of (parent, query) hashes the whole query per row.
            by_parent: dict[UUID, list[Keyed[R]]] = defaultdict(list)
            build, values, parent_at = selected.row(), selected.sort_values(), selected.parent_position()
            for r in rows:
                by_parent[UUID(r[parent_at]) if by_text else r[parent_at]].append((build(r), values(r)))
            found.update({(parent_key, query): items for parent_key, items in by_parent.items()})
        return [found.get(k, []) for k in keys]

    return DataLoader(load)


def child_counts(
    ctx: RequestContext, table: str, parent: str, by_text: bool = False
) -> DataLoader[PageKey, dict[str, int]]:
    """Per parent, how many children a query admits per `t.status` (`""` for every status), one statement a query.

    A count of the whole list and counts by status are both served by it: the
    list's total is the count keyed `""`.
    """

    async def load(keys: Sequence[PageKey]) -> list[dict[str, int]]:
        pg = ctx.postgres
        found: dict[PageKey, dict[str, int]] = defaultdict(dict)
        for query, parents in grouped(keys).items():
            where = query.where()
            rows = await pg.fetch(
                f"SELECT t.{parent} AS parent_key, coalesce(t.status, '') AS status, count(*) AS n "
                f"FROM {table} t {query.join} WHERE {_child_where(parent, where, by_text)} "
                f"GROUP BY GROUPING SETS ((t.{parent}, t.status), (t.{parent}))",
                pg.organization_id,
                _parents(parents, by_text),
                *where.params,
            )
            for r in rows:
                key = UUID(r["parent_key"]) if by_text else r["parent_key"]
                found[(key, query)][r["status"]] = int(r["n"])
        return [found.get(k, {}) for k in keys]

    return DataLoader(load)


async def child_pages_of(
    ctx: RequestContext,
    *,
    key: str,
    parents: Sequence[UUID],
    pages: Callable[[RequestContext], DataLoader[PageKey, list[Keyed[T]]]],
    counts: Callable[[RequestContext], DataLoader[PageKey, dict[str, int]]],
    query: ChildQuery,
    ordering: Ordering,
    page: Page,
) -> list[Paged[T]]:
    """The same page of each parent's children, served by the batched window-function loaders.

    The seek and the statement's key are worked out once for all the parents (a
    planned level asks for all its objects' pages at once; a single object for one).
    """

    def count_of(parent: UUID) -> Count:
        async def count() -> int:
            return (await ctx.loader(counts).load((parent, query))).get("", 0)

        return count

    async def fetch(wanted: Seek) -> list[list[Keyed[T]]]:
        sought = seeking(query.where(), wanted)
        paged_query = replace(
            ChildQuery.of(sought, query.join), order=wanted.order, limit=wanted.limit, fields=page.fields
        )
        return await ctx.loader(pages).load_many([(parent, paged_query) for parent in parents])

    return await paged_many(key, page, ordering, [count_of(parent) for parent in parents], fetch)
