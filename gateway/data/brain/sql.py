"""What the Brain domain modules share: numbered conditions, the organization-wide page, loader helpers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar
from uuid import UUID

from aiodataloader import DataLoader

from gateway.core.context import RequestContext
from gateway.data.filters import Comparison, DayRange, Sort, TimeRange
from gateway.data.paging import Keyed, Ordering, Page, Paged, Seek, SortKey, Values, paged
from gateway.data.rows import getter, names
from gateway.data.text import contains_text
from gateway.stores.postgres import TenantReader

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
R = TypeVar("R", bound=NamedTuple)
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

    def after(self, ordering: Ordering, values: Values) -> None:
        """Rows strictly after `values` (a cursor's sort values) in `ordering`: the seek condition of a page.

        A row comparison when every key is non-null and all go one way (an index
        on the keys serves it); else the expanded form, one alternative per key:
        the keys before it equal, it strictly beyond. NULL sorts where the key
        says (`NULLS LAST` in the lists' own orderings).
        """
        keys = ordering.keys
        placeholders = [f"{self.param(v)}::{_SQL_TYPES[k.kind]}" for k, v in zip(keys, values, strict=True)]
        if all(k.nulls_first is None for k in keys) and len({k.descending for k in keys}) == 1:
            op = "<" if keys[0].descending else ">"
            columns = ", ".join(k.column for k in keys)
            self.conditions.append(f"({columns}) {op} ({', '.join(placeholders)})")
            return
        alternatives = []
        for i, key in enumerate(keys):
            beyond = _beyond(key, placeholders[i], values[i])
            if beyond is not None:
                equal = [_equal(k, p, v) for k, p, v in zip(keys[:i], placeholders[:i], values[:i], strict=True)]
                alternatives.append(" AND ".join([*equal, beyond]))
        self.conditions.append(f"(({') OR ('.join(alternatives)}))" if alternatives else "FALSE")

    def copy(self) -> Where:
        return Where(self.first, list(self.conditions), list(self.params))

    def of_organization(self) -> Where:
        """These conditions after `t.organization_id = $1`, for a list read at the organization's level."""
        self.conditions.insert(0, "t.organization_id = $1")
        return self

    @property
    def clause(self) -> str:
        return " AND ".join(self.conditions) if self.conditions else "TRUE"


_SQL_TYPES = {
    "s": "text",
    "i": "bigint",
    "f": "float8",
    "n": "numeric",
    "d": "date",
    "t": "timestamptz",
    "u": "uuid",
    "b": "boolean",
}


def _beyond(key: SortKey, placeholder: str, value: object) -> str | None:
    """`key.column` strictly after `value` in the key's order; None when nothing can be."""
    if value is None:
        return f"{key.column} IS NOT NULL" if key.nulls_first else None
    beyond = f"{key.column} {'<' if key.descending else '>'} {placeholder}"
    return f"({beyond} OR {key.column} IS NULL)" if key.nulls_first is False else beyond


def _equal(key: SortKey, placeholder: str, value: object) -> str:
    return f"{key.column} IS NULL" if value is None else f"{key.column} = {placeholder}"


def order_by(ordering: Ordering) -> str:
    """The ORDER BY list of an ordering (NULLS placement only for keys that can be null)."""

    def one(key: SortKey) -> str:
        nulls = "" if key.nulls_first is None else " NULLS FIRST" if key.nulls_first else " NULLS LAST"
        return f"{key.column} {'DESC' if key.descending else 'ASC'}{nulls}"

    return ", ".join(one(k) for k in ordering.keys)


@dataclass(frozen=True)
class Selected:
    """What a page's statement selects for a row type listed as `t`: its columns, then what else the page reads.

    A sort key (or the parent column of a child page) that is one of the row's
    own columns, `t.<name>`, is read from that column: selecting it again would
    decode the same value twice per row. Only other expressions (a measure of a
    joined table) are added, under names of their own.
    """

    row_type: type[NamedTuple]
    added: tuple[tuple[str, str], ...]  # (expression, name) selected after the row's columns
    sort_names: tuple[str, ...]  # where a record holds each sort value
    parent_name: str = ""  # where a record holds its parent's id, for a child page
    unread: frozenset[str] = frozenset()  # the row's columns selected as NULL

    @classmethod
    def of(
        cls, row_type: type[NamedTuple], ordering: Ordering, parent: str = "", fields: frozenset[str] | None = None
    ) -> Selected:
        """`fields`: the row fields the page's reader uses (None: all); the others are selected as NULL.

        A NULL costs nothing to decode, where a time stamp or a UUID is most of a
        large page's decoding; the record keeps its shape, so rows build as always.
        The id, the sort keys and the parent column are always read.
        """
        own = set(names(row_type))
        added: list[tuple[str, str]] = []

        def read(expression: str, name: str) -> str:
            column = expression.removeprefix("t.")
            if column != expression and column in own:
                return column
            added.append((expression, name))
            return name

        sort_names = tuple(read(k.column, f"sort_{i}") for i, k in enumerate(ordering.keys))
        parent_name = read(f"t.{parent}", "parent_key") if parent else ""
        unread = frozenset() if fields is None else frozenset(own - fields - {"id", parent_name, *sort_names})
        return cls(row_type, tuple(added), sort_names, parent_name, unread)

    def select_list(self) -> str:
        """The row's columns of `t` (NULL for those not read), then the added expressions under their names."""
        own = [f"NULL AS {n}" if n in self.unread else f"t.{n}" for n in names(self.row_type)]
        return ", ".join([*own, *(f"{e} AS {n}" for e, n in self.added)])

    def _output(self) -> list[str]:
        return [*names(self.row_type), *(n for _, n in self.added)]

    def output_names(self) -> str:
        """The names `select_list` gives its columns, to select them again from a subquery."""
        return ", ".join(self._output())

    def _position(self, name: str) -> int:
        return self._output().index(name)

    def sort_values(self) -> Callable[[Record], Values]:
        """Reads a record's sort values by position; made once per statement, used per row."""
        return getter(tuple(self._position(n) for n in self.sort_names))

    def parent_position(self) -> int:
        return self._position(self.parent_name)

    def row(self) -> Callable[[Record], Any]:
        """Builds the row from a record of this selection: its leading columns, by position.

        Reading the row's columns as one slice takes about half the time of reading
        them by name, and a large page builds a row per record.
        """
        row_type, count, new = self.row_type, len(names(self.row_type)), tuple.__new__
        return lambda record: new(row_type, record[:count])


@dataclass(frozen=True)
class Sortable:
    """A field a list sorts by: its SQL expression (the listed table is `t`) and the kind of its values."""

    column: str
    kind: str
    nullable: bool = False


def ordering_of(sorts: Sequence[Sort], sortable: Mapping[str, Sortable], extra: str = "") -> Ordering:
    """The ordering an `orderBy` asks for (a field named twice counts once), then `t.id`."""
    keys: dict[str, SortKey] = {}
    for sort in sorts:
        field = sortable[sort.field]
        keys.setdefault(sort.field, sort_key(field.column, field.kind, sort.descending, nullable=field.nullable))
    return ordered(list(keys.values()), "t.id", extra)


def sort_key(column: str, kind: str, descending: bool = False, *, nullable: bool = False) -> SortKey:
    """A sort key of a PostgreSQL list; NULL, where the column can hold it, sorts last either way."""
    return SortKey(column, kind, descending, False if nullable else None)


def ordered(keys: Sequence[SortKey], id_column: str, extra: str = "") -> Ordering:
    """`keys` then the unique id as tie-break, going the way the first key goes.

    Ties therefore read by ascending id in an ascending list and by descending id
    in a descending one, and a single-key order stays one row comparison.
    """
    return Ordering.of(*keys, SortKey(id_column, "u", keys[0].descending if keys else False), extra=extra)


def seeking(where: Where, wanted: Seek) -> Where:
    """`where` and the seek conditions of a page, leaving `where` as it was (the count needs it)."""
    sought = where.copy()
    for ordering, values in wanted.bounds():
        sought.after(ordering, values)
    return sought


async def org_page(
    pg: TenantReader,
    *,
    key: str,
    row_type: type[R],
    tables: str,
    where: Where,
    ordering: Ordering,
    page: Page,
) -> Paged[R]:
    """One page of an organization-level list of `row_type` plus a lazily counted total.

    `tables` is what the statement reads FROM, the listed table aliased `t`;
    `where` conditions may use $1 (the organization id) and their own
    parameters; `ordering` ends in a unique key.
    """
    selected = Selected.of(row_type, ordering, fields=page.fields)
    build: Callable[[Record], R] = selected.row()

    async def count() -> int:
        return int(
            await pg.fetchval(f"SELECT count(*) FROM {tables} WHERE {where.clause}", pg.organization_id, *where.params)
        )

    async def fetch(wanted: Seek) -> list[Keyed[R]]:
        sought = seeking(where, wanted)
        rows = await pg.fetch(
            f"SELECT {selected.select_list()} FROM {tables} WHERE {sought.clause} "
            f"ORDER BY {order_by(wanted.order)} LIMIT {sought.param(wanted.limit)}",
            pg.organization_id,
            *sought.params,
        )
        values = selected.sort_values()
        return [(build(r), values(r)) for r in rows]

    return await paged(key, page, ordering, count, fetch)


async def status_counts(pg: TenantReader, select_from: str, where: Where) -> dict[str, int]:
    """How many rows of `select_from` (the listed table is `t`) `where` admits, per `t.status`, in one statement."""
    rows = await pg.fetch(
        f"SELECT t.status, count(*) AS n FROM {select_from} WHERE {where.clause} GROUP BY t.status",
        pg.organization_id,
        *where.params,
    )
    return {r["status"]: int(r["n"]) for r in rows}


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
