"""The one paging kit for both stores: Relay arguments, the window, the cursor codec.

Cursors are offsets today, bound to the connection they came from (`key`),
so a cursor of one list is refused by another. A list is paged by giving
`paged` how to count it and how to fetch `limit` rows from `offset`;
forward pages fetch one extra row so `hasNextPage` needs no second query.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from gateway.errors import BadUserInput

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
MAX_OFFSET = 10_000_000  # far beyond any list here; keeps forged cursors out of the stores
MAX_CURSOR_LENGTH = 200  # the gateway's cursors are under 100 characters; longer ones are forged

T = TypeVar("T")
Count = Callable[[], Awaitable[int]]


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

    @property
    def needs_total(self) -> bool:
        """`last` without `before` counts back from the end, so the total comes first."""
        return self.last is not None and self.before is None


@dataclass(frozen=True)
class Window:
    """The slice of a list a page asks for.

    `offset`/`limit` are what to fetch; `limit` includes one extra row when
    paging forward, so `hasNextPage` needs no second query.
    """

    key: str
    offset: int
    limit: int
    forward: bool
    requested: int


def window(key: str, page: Page, total: int | None = None) -> Window:
    first, last = page.first, page.last
    if first is not None and last is not None:
        raise BadUserInput("pass either `first` or `last`, not both")
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PAGE_SIZE:
            raise BadUserInput(f"`{name}` must be between 0 and {MAX_PAGE_SIZE}, got {value}")
    after_offset = decode_cursor(key, page.after) + 1 if page.after else 0
    before_offset = decode_cursor(key, page.before) if page.before else None
    if last is None:
        size = DEFAULT_PAGE_SIZE if first is None else first
        if before_offset is not None:
            size = min(size, max(0, before_offset - after_offset))
        return Window(key, after_offset, size + 1, True, size)
    end = before_offset if before_offset is not None else total
    if end is None:
        raise BadUserInput("`last` without `before` needs the total count")  # `paged` passes it
    start = max(after_offset, end - last)
    return Window(key, start, max(0, end - start), False, max(0, end - start))


@dataclass(frozen=True)
class Paged(Generic[T]):
    """One page of rows with what a Relay connection says about it.

    Cursors are not built here: `cursor(i)` encodes one when a query selects
    it, since most pages are read without paging further.
    """

    rows: list[T]
    key: str  # the connection the cursors belong to
    offset: int  # position of rows[0] in the whole list
    has_next: bool
    has_previous: bool
    count: Count  # the whole list's size, asked only when a client wants it

    def cursor(self, index: int) -> str:
        return encode_cursor(self.key, self.offset + index)


def once(count: Count) -> Count:
    """`count`, asked at most once: `last` needs the total before `totalCount` does."""
    result: list[int] = []

    async def cached() -> int:
        if not result:
            result.append(await count())
        return result[0]

    return cached


async def paged(key: str, page: Page, count: Count, fetch: Callable[[int, int], Awaitable[Sequence[T]]]) -> Paged[T]:
    """A page of any list given how to count it and how to fetch `limit` rows from `offset`."""
    counted = once(count)
    win = window(key, page, await counted() if page.needs_total else None)
    # An empty window asks nothing of the store (a limit of 0 would mean "no limit" to MongoDB).
    rows = list(await fetch(win.offset, win.limit)) if win.limit > 0 else []
    has_next = win.forward and len(rows) > win.requested
    rows = rows[: win.requested]
    return Paged(
        rows=rows,
        key=key,
        offset=win.offset,
        has_next=has_next,
        has_previous=win.offset > 0,
        count=counted,
    )
