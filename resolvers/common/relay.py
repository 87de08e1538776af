"""Relay global ids, the Node interface and offset-cursor connections."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

import strawberry

from gateway.errors import BadUserInput

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
MAX_OFFSET = 10_000_000  # far beyond any list here; keeps forged cursors out of the stores
MAX_CURSOR_LENGTH = 200  # the gateway's cursors are under 100 characters; longer ones are forged

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

NodeT = TypeVar("NodeT")
U = TypeVar("U")


def to_global_id(type_name: str, raw_id: object) -> strawberry.ID:
    return strawberry.ID(base64.urlsafe_b64encode(f"{type_name}:{raw_id}".encode()).decode().rstrip("="))


def from_global_id(global_id: str) -> tuple[str, str]:
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        decoded = base64.urlsafe_b64decode(padded.encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise BadUserInput(f"{global_id!r} is not a valid id") from None
    type_name, sep, raw = decoded.partition(":")
    if not sep or not type_name or not raw:
        raise BadUserInput(f"{global_id!r} is not a valid id")
    return type_name, raw


@strawberry.interface(description="An object with a globally unique id (Relay). Fetch any of them with `node(id:)`.")
class Node:
    id: strawberry.ID = strawberry.field(description="Globally unique, opaque id of this object.")


def _start_cursor(root: PageInfo) -> str | None:
    return None if root.start is None else encode_cursor(root.key, root.start)


def _end_cursor(root: PageInfo) -> str | None:
    return None if root.end is None else encode_cursor(root.key, root.end)


def _edge_cursor(root: Edge[object]) -> str:
    return encode_cursor(root.key, root.offset)


# Cursors are built only when a query selects them: most pages are read
# without paging further, and encoding one per edge was a sizable share of a
# large page's time.
@strawberry.type(description="Where a page sits in its connection (Relay).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="True when more items follow this page.")
    has_previous_page: bool = strawberry.field(description="True when items precede this page.")
    start_cursor: str | None = strawberry.field(
        resolver=_start_cursor, description="Cursor of the first edge of this page."
    )
    end_cursor: str | None = strawberry.field(resolver=_end_cursor, description="Cursor of the last edge of this page.")
    key: strawberry.Private[str]
    start: strawberry.Private[int | None]  # offsets of the first and last edge; None on an empty page
    end: strawberry.Private[int | None]


@strawberry.type(description="One item of a connection with its cursor.")
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(resolver=_edge_cursor, description="Opaque cursor; pass it as `after` or `before`.")
    node: NodeT = strawberry.field(description="The item.")
    key: strawberry.Private[str]
    offset: strawberry.Private[int]


@strawberry.type(description="A page of items (Relay connection) with the total count of the whole list.")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]] = strawberry.field(description="The items of this page.")
    page_info: PageInfo = strawberry.field(description="Paging information.")
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="Number of items in the whole list, across all pages, with filters applied.")
    async def total_count(self) -> int:
        return await self.count()

    def map(self, build: Callable[[NodeT], U]) -> Connection[U]:
        """The same page with each node converted (e.g. rows into GraphQL objects)."""
        edges = [Edge(node=build(e.node), key=e.key, offset=e.offset) for e in self.edges]
        return Connection(edges=edges, page_info=self.page_info, count=self.count)


def encode_cursor(key: str, offset: int) -> str:
    raw = json.dumps({"c": key, "o": offset}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(key: str, cursor: str) -> int:
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise BadUserInput(f"cursor {cursor[:40]!r}... is malformed (longer than {MAX_CURSOR_LENGTH} characters)")
    try:
        data = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode("ascii")))
        offset = data["o"]
        owner = data["c"]
    except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error):
        raise BadUserInput(f"cursor {cursor!r} is malformed") from None
    if owner != key:
        raise BadUserInput(f"cursor {cursor!r} belongs to another connection")
    if not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise BadUserInput(f"cursor {cursor!r} is malformed")
    return offset


@dataclass(frozen=True)
class Page:
    """The Relay arguments of one connection field, as a resolver received them."""

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None


@dataclass(frozen=True)
class Window:
    """The slice of a list a connection argument set asks for.

    `offset`/`limit` are what to fetch; `limit` includes one extra row when
    paging forward, so `hasNextPage` needs no second query.
    """

    key: str
    offset: int
    limit: int
    forward: bool
    requested: int


def window(
    key: str,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    total: int | None = None,
) -> Window:
    if first is not None and last is not None:
        raise BadUserInput("pass either `first` or `last`, not both")
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PAGE_SIZE:
            raise BadUserInput(f"`{name}` must be between 0 and {MAX_PAGE_SIZE}, got {value}")
    after_offset = decode_cursor(key, after) + 1 if after else 0
    before_offset = decode_cursor(key, before) if before else None
    if last is None:
        size = DEFAULT_PAGE_SIZE if first is None else first
        if before_offset is not None:
            size = min(size, max(0, before_offset - after_offset))
        return Window(key, after_offset, size + 1, True, size)
    end = before_offset if before_offset is not None else total
    if end is None:
        raise BadUserInput("`last` without `before` needs the total count")  # callers pass total
    start = max(after_offset, end - last)
    return Window(key, start, max(0, end - start), False, max(0, end - start))


def needs_total(last: int | None, before: str | None) -> bool:
    return last is not None and before is None


def connection(
    win: Window,
    rows: Sequence[NodeT],
    count: Callable[[], Awaitable[int]],
) -> Connection[NodeT]:
    has_more = win.forward and len(rows) > win.requested
    items = list(rows[: win.requested])
    key, start = win.key, win.offset
    edges = [Edge(node=node, key=key, offset=start + i) for i, node in enumerate(items)]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_more if win.forward else False,
            has_previous_page=win.offset > 0,
            key=key,
            start=start if edges else None,
            end=start + len(edges) - 1 if edges else None,
        ),
        count=count,
    )
