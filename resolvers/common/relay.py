"""The Relay types of the schema: Node, connections and the paging arguments.

Global ids and paging live below the schema (`gateway.data.ids`,
`gateway.data.paging`); this module only turns a `Paged` page into a `Connection`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, ClassVar, Generic, Self, TypeVar
from uuid import UUID

import strawberry
from bson import ObjectId

from gateway.data.ids import to_global_id
from gateway.data.paging import Paged
from resolvers.common.objects import builder, total

# Relay paging arguments, shared by every connection field.
First = Annotated[
    int | None,
    strawberry.argument(description="Page forward: at most this many items (0 to 100; 20 when no paging is given)."),
]
After = Annotated[str | None, strawberry.argument(description="Return items after this cursor (an `endCursor`).")]
Last = Annotated[
    int | None,
    strawberry.argument(description="Page backward: at most this many items, ending at `before` or the list's end."),
]
Before = Annotated[str | None, strawberry.argument(description="Return items before this cursor (a `startCursor`).")]

Tally = Callable[[], Awaitable[dict[str, int]]]  # counts per stored status value, asked when selected
COUNTS_BY_STATUS = (
    "One entry per status, zeros included, counted over the list as filtered except for its `status` filter "
    "(so tabs can show every status's count). Asked only when selected."
)

NodeT = TypeVar("NodeT")
U = TypeVar("U")


# Global ids of recently read objects, per type: a large page costs a base64 encoding (and a
# UUID formatted as text) per row, and the same rows are read again and again. A type's cache
# is emptied when full, so a worker keeps at most this many per type (about 300 bytes each).
MAX_CACHED_IDS = 20_000
_CACHEABLE_IDS = (UUID, ObjectId, str)
_ids: dict[str, Callable[[object], strawberry.ID]] = {}


def node_ids(type_name: str) -> Callable[[object], strawberry.ID]:
    """The global-id function of one type (`gateway.data.ids` is the codec), with its own cache."""
    found = _ids.get(type_name)
    if found is not None:
        return found
    cache: dict[object, strawberry.ID] = {}

    def global_id(raw_id: object) -> strawberry.ID:
        known = (
            cache.get(raw_id) if isinstance(raw_id, _CACHEABLE_IDS) else None
        )  # kinds whose equal values print alike
        if known is None:
            known = strawberry.ID(to_global_id(type_name, raw_id))
            if isinstance(raw_id, _CACHEABLE_IDS):
                if len(cache) >= MAX_CACHED_IDS:
                    cache.clear()
                cache[raw_id] = known
        return known

    _ids[type_name] = total(global_id)  # text of any raw id
    return global_id


def id_type(function: Callable[..., object] | None) -> str | None:
    """The type whose global ids `function` makes, when it is one of `node_ids`'s functions."""
    return next((name for name, made in _ids.items() if made is function), None)


def node_id(type_name: str, raw_id: object) -> strawberry.ID:
    """The global id of an object, typed for the schema."""
    return node_ids(type_name)(raw_id)


@strawberry.interface(description="An object with a globally unique id (Relay). Fetch any of them with `node(id:)`.")
class Node:
    id: strawberry.ID = strawberry.field(description="Globally unique, opaque id of this object.")


def _start_cursor(root: PageInfo) -> str | None:
    return root.page.cursor(0) if root.page.rows else None


def _end_cursor(root: PageInfo) -> str | None:
    return root.page.cursor(len(root.page.rows) - 1) if root.page.rows else None


# A bool, or (for a page of no rows) an awaitable the executor awaits, so the store is
# asked only when the field is selected; typed Any for the field's sake (its GraphQL type is Boolean).
def _known_or_asked(value: bool | Callable[[], Awaitable[bool]]) -> Any:
    return value if isinstance(value, bool) else value()


def _has_next_page(root: PageInfo) -> Any:
    return _known_or_asked(root.page.has_next)


def _has_previous_page(root: PageInfo) -> Any:
    return _known_or_asked(root.page.has_previous)


def _edge_cursor(root: Edge[object]) -> str:
    return root.page.cursor(root.index)


# Cursors are built only when a query selects them: most pages are read
# without paging further, and encoding one per edge was a sizable share of a
# large page's time.
@strawberry.type(description="Where a page sits in its connection (Relay).")
class PageInfo:
    has_next_page: bool = strawberry.field(
        resolver=_has_next_page,
        graphql_type=bool,
        description="True when more items follow this page: exact when paging forward (`first`); "
        "when paging backward, true exactly when `before` was given.",
    )
    has_previous_page: bool = strawberry.field(
        resolver=_has_previous_page,
        graphql_type=bool,
        description="True when items precede this page: exact when paging backward (`last`); "
        "when paging forward, true exactly when `after` was given.",
    )
    start_cursor: str | None = strawberry.field(
        resolver=_start_cursor, description="Cursor of the first edge of this page."
    )
    end_cursor: str | None = strawberry.field(resolver=_end_cursor, description="Cursor of the last edge of this page.")
    page: strawberry.Private[Paged[Any]]


@strawberry.type(description="One item of a connection with its cursor.")
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(resolver=_edge_cursor, description="Opaque cursor; pass it as `after` or `before`.")
    node: NodeT = strawberry.field(description="The item.")
    page: strawberry.Private[Paged[Any]]
    index: strawberry.Private[int]


_new_edge = builder(Edge)


@strawberry.type(description="A page of items (Relay connection) with the total count of the whole list.")
class Connection(Generic[NodeT]):
    # The fields that read the page's cursors and counts, not its rows: a page whose other fields
    # are edges written from rows may read only the columns those edges need. A subclass adding
    # such a field (its counts by status) declares it too.
    fields_without_rows: ClassVar[frozenset[str]] = frozenset({"page_info", "total_count"})
    page: strawberry.Private[Paged[Any]]
    build: strawberry.Private[Callable[[Any], NodeT]]

    # Edges and page info are built when asked: the planned executor writes a page whose
    # items are built by a `row_builder` and selected by plain fields straight from the rows (see
    # `resolvers.execution.compiled`), without an edge or item object per row.
    @strawberry.field(description="The items of this page.")
    def edges(self) -> list[Edge[NodeT]]:
        page, build = self.page, self.build
        return [_new_edge(node=build(row), page=page, index=i) for i, row in enumerate(page.rows)]

    @strawberry.field(description="Paging information.")
    def page_info(self) -> PageInfo:
        return PageInfo(page=self.page)

    @strawberry.field(description="Number of items in the whole list, across all pages, with filters applied.")
    async def total_count(self) -> int:
        return await self.page.count()

    @classmethod
    def of(cls, page: Paged[U], build: Callable[[U], NodeT], **extra: Any) -> Self:
        """The connection of a page, each row built into its GraphQL type (`extra`: a subclass's own fields)."""
        return cls(page=page, build=build, **extra)


def _resolver(cls: type, name: str) -> Any:
    field = next(f for f in cls.__strawberry_definition__.fields if f.python_name == name)  # type: ignore[attr-defined]
    return field.base_resolver.wrapped_func


@strawberry.type(description="A page of items (Relay connection) with counts over the whole list.")
class CountedConnection(Connection[NodeT]):
    """A connection with counts by status over its whole list (its subclass's `counts_by_status`, read from `tally`)."""

    fields_without_rows = Connection.fields_without_rows | {"counts_by_status"}
    tally: strawberry.Private[Tally]


# The resolver of `Connection.edges`, by which the planned executor recognises the field.
CONNECTION_EDGES = _resolver(Connection, "edges")
EDGE_CURSOR = _edge_cursor
