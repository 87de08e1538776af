"""The one paging kit for both stores: Relay arguments, orderings, keyset cursors, `paged()`.

A cursor names the row it was made for by its sort-key values under the
ordering of its list, ending with the row's unique id, so a page read after a
cursor starts right after that row however many rows were inserted or
deleted before it (no offsets). A cursor also carries its connection's key and
a digest of the ordering (field, direction, and anything else the order
depends on, such as a metrics range), so a cursor of another list or another
`orderBy` is refused rather than misread.

The stores render the seek condition themselves (`Where.after` for
PostgreSQL, `query.after` for MongoDB) from the (ordering, values) pairs of a
`Seek`: every bound means "strictly after these values in this ordering"; a
`before` bound is an `after` bound in the reversed ordering.

`hasNextPage` and `hasPreviousPage` are exact in the direction of paging
(one extra row is fetched). In the other direction they follow the cursors:
a page read after a cursor has a previous page (the cursor's row), a page
read before one has a next page, and a page read from either end of the list
has none beyond that end.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar
from uuid import UUID

from bson import ObjectId
from bson.errors import InvalidId

from gateway.core.text import string_problem
from gateway.errors import BadUserInput

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
# The gateway's cursors are 60 to 200 characters; a long name as sort key makes one longer
# (a 2,000-character name about 2,900). Anything longer than this is forged and is refused
# before it is decoded; what is decoded is type-checked value by value.
MAX_CURSOR_LENGTH = 4096
# Bounds of the values a cursor may carry. A client can forge a cursor with any value (they
# are not signed), and a value a store's driver cannot convert fails as an error of the
# server, so each one is held to what its kind's columns can hold and compare.
MAX_TEXT_VALUE = 2000  # the longest name a cursor is meant to carry (see above)
INT64 = range(-(2**63), 2**63)  # bigint in PostgreSQL, int64 in BSON
# Decimal sort keys are money: numeric(14, 2) columns, their sums over a range, and ratios
# rounded to cents, so at most two places and far fewer than 24 digits before the point.
MAX_DECIMAL_PLACES = 2
MAX_DECIMAL_DIGITS = 24

T = TypeVar("T")
Count = Callable[[], Awaitable[int]]
Beyond = Callable[[], Awaitable[bool]]
Values = tuple[Any, ...]

# The kinds of sort values a cursor can carry, each with its tag and its decoder.
TEXT, INT, FLOAT, DECIMAL, DATE, TIME, UUID_, OBJECT_ID, BOOL = "s", "i", "f", "n", "d", "t", "u", "o", "b"


def _encode_value(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return [BOOL, value]
    if isinstance(value, str):
        return [TEXT, value]
    if isinstance(value, int):
        return [INT, value]
    if isinstance(value, float):
        return [FLOAT, value]
    if isinstance(value, Decimal):
        return [DECIMAL, str(value)]
    if isinstance(value, dt.datetime):
        return [TIME, value.isoformat()]
    if isinstance(value, dt.date):
        return [DATE, value.isoformat()]
    if isinstance(value, UUID):
        return [UUID_, value.hex]
    if isinstance(value, ObjectId):
        return [OBJECT_ID, str(value)]
    raise TypeError(f"no cursor encoding for a sort value of type {type(value).__name__}")


def _decode_value(kind: str, raw: Any) -> Any:
    """A sort value of `kind` from its encoding; ValueError (or TypeError) when it is not one."""
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) != 2:
        raise ValueError("malformed sort value")
    tag, value = raw
    if tag != kind:
        raise ValueError("sort value of another kind")
    if kind == TEXT and isinstance(value, str):
        if len(value) > MAX_TEXT_VALUE or string_problem(value):
            raise ValueError("not a text a sort key holds")
        return value
    if kind == INT and type(value) is int and value in INT64:
        return value
    if kind == FLOAT and type(value) in (int, float) and math.isfinite(float(value)):
        return float(value)
    if kind == BOOL and type(value) is bool:
        return value
    if not isinstance(value, str) or len(value) > 64:
        raise ValueError("malformed sort value")
    return _decode_text_value(kind, value)


def _decode_text_value(kind: str, value: str) -> Any:
    """A sort value encoded as a string (decimals, instants, days, ids)."""
    if kind == DECIMAL:
        number = Decimal(value)
        if (
            not number.is_finite()
            or -int(number.as_tuple().exponent) > MAX_DECIMAL_PLACES
            or number.adjusted() >= MAX_DECIMAL_DIGITS
        ):
            raise ValueError("not a number a sort key holds")
        return number
    if kind == TIME:
        return _instant(value)
    if kind == DATE:
        return dt.date.fromisoformat(value)
    if kind == UUID_:
        return UUID(hex=value)
    if kind == OBJECT_ID:
        return ObjectId(value)
    raise ValueError("unknown sort value kind")


def _instant(value: str) -> dt.datetime:
    """An instant both stores can compare: with an offset (a naive time compares with no stored one)
    and convertible to UTC (`0001-01-01T00:00:00+14:00` is in year 0 there), returned in UTC."""
    moment = dt.datetime.fromisoformat(value)
    if moment.utcoffset() is None:
        raise ValueError("a time without an offset")
    return moment.astimezone(dt.UTC)  # OverflowError past the calendar's ends


@dataclass(frozen=True)
class SortKey:
    """One key of an ordering: what the store sorts by and how.

    `column` is what the store sorts by (an SQL expression, or a MongoDB field
    path); `kind` is the type tag of its values. `nulls_first` is None for a
    key that is never null; else where NULL sorts (PostgreSQL lists put it last
    in either direction; MongoDB puts it first ascending, last descending).
    """

    column: str
    kind: str
    descending: bool = False
    nulls_first: bool | None = None

    def reversed(self) -> SortKey:
        nulls = None if self.nulls_first is None else not self.nulls_first
        return SortKey(self.column, self.kind, not self.descending, nulls)


@dataclass(frozen=True)
class Ordering:
    """The sort keys of a list, the last of them unique (the tie-break), so the order is total.

    `signature` is what cursors remember of the ordering: the keys, and
    `extra`, anything else the order depends on (a metrics range).
    """

    keys: tuple[SortKey, ...]
    extra: str = ""

    @classmethod
    def of(cls, *keys: SortKey, extra: str = "") -> Ordering:
        return cls(tuple(keys), extra)

    def reversed(self) -> Ordering:
        return Ordering(tuple(k.reversed() for k in self.keys), self.extra)

    @property
    def signature(self) -> str:
        described = ";".join(f"{k.column}:{k.kind}:{int(k.descending)}:{k.nulls_first}" for k in self.keys)
        return hashlib.sha256(f"{described}|{self.extra}".encode()).hexdigest()[:10]

    def decode(self, values: Sequence[Any]) -> Values:
        if len(values) != len(self.keys):
            raise ValueError("sort values do not match the ordering")
        decoded = tuple(_decode_value(k.kind, v) for k, v in zip(self.keys, values, strict=True))
        if any(v is None and k.nulls_first is None for k, v in zip(self.keys, decoded, strict=True)):
            raise ValueError("a key that is never null (the tie-break, a required column) is null")
        return decoded


def encode_cursor(key: str, ordering: Ordering, values: Values) -> str:
    raw = json.dumps([key, ordering.signature, *(_encode_value(v) for v in values)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(key: str, ordering: Ordering, cursor: str) -> Values:
    """The sort values a cursor of this list and ordering names; BAD_USER_INPUT for any other cursor."""
    shown = repr(cursor) if len(cursor) <= 100 else f"{cursor[:40]!r}..."
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise BadUserInput(f"cursor {shown} is malformed (longer than {MAX_CURSOR_LENGTH} characters)")
    try:
        data = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode("ascii")))
        owner, signature, *values = data
    except (ValueError, TypeError, UnicodeError, binascii.Error, RecursionError):
        raise BadUserInput(f"cursor {shown} is malformed") from None
    if owner != key:
        raise BadUserInput(f"cursor {shown} belongs to another connection")
    if signature != ordering.signature:
        raise BadUserInput(f"cursor {shown} was made under another `orderBy`; page again from the start")
    try:
        return ordering.decode(values)
    except (ValueError, TypeError, ArithmeticError, InvalidId):  # ArithmeticError: InvalidOperation, OverflowError
        raise BadUserInput(f"cursor {shown} is malformed") from None


@dataclass(frozen=True)
class Page:
    """The Relay arguments of one connection field, as a resolver received them.

    `fields`: the fields of the page's rows its reader uses, when known (None: all);
    a store may leave the others unread (PostgreSQL selects them as NULL).
    """

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None
    fields: frozenset[str] | None = None


@dataclass(frozen=True)
class Seek:
    """What a store fetches for one page: at most `limit` rows in `order`, within the bounds.

    `order` is the list's ordering, or its reverse for a page read backwards
    (the kit turns those rows around). `after` excludes rows up to and
    including those sort values in `order`, `until` rows from them on.
    """

    order: Ordering
    after: Values | None
    until: Values | None
    limit: int

    def bounds(self) -> list[tuple[Ordering, Values]]:
        """The seek conditions, each meaning "strictly after these values in this ordering"."""
        found = []
        if self.after is not None:
            found.append((self.order, self.after))
        if self.until is not None:
            found.append((self.order.reversed(), self.until))
        return found


def seek(key: str, ordering: Ordering, page: Page) -> tuple[Seek, int]:
    """The rows to fetch for a page (one more than asked, to tell whether more follow) and the page size."""
    first, last = page.first, page.last
    if first is not None and last is not None:
        raise BadUserInput("pass either `first` or `last`, not both")
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PAGE_SIZE:
            raise BadUserInput(f"`{name}` must be between 0 and {MAX_PAGE_SIZE}, got {value}")
    after = decode_cursor(key, ordering, page.after) if page.after else None
    before = decode_cursor(key, ordering, page.before) if page.before else None
    if last is None:
        size = DEFAULT_PAGE_SIZE if first is None else first
        return Seek(ordering, after, before, size + 1), size
    return Seek(ordering.reversed(), before, after, last + 1), last


Keyed = tuple[T, Values]  # a row and its sort values


@dataclass(frozen=True)
class Paged(Generic[T]):
    """One page of rows with what a Relay connection says about it.

    Cursors are not built here: `cursor(i)` encodes one when a query selects
    it, since most pages are read without paging further.
    """

    rows: list[T]
    values: list[Values]  # the sort values of each row
    key: str  # the connection the cursors belong to
    ordering: Ordering
    # Known, or asked of the store when selected (whether rows lie beyond a page of no rows).
    has_next: bool | Beyond
    has_previous: bool | Beyond
    count: Count  # the whole list's size, asked only when a client wants it

    def cursor(self, index: int) -> str:
        return encode_cursor(self.key, self.ordering, self.values[index])


def once(count: Count) -> Count:
    """`count`, asked at most once however many fields want it."""
    result: list[int] = []

    async def cached() -> int:
        if not result:
            result.append(await count())
        return result[0]

    return cached


async def paged(
    key: str,
    page: Page,
    ordering: Ordering,
    count: Count,
    fetch: Callable[[Seek], Awaitable[Sequence[Keyed[T]]]],
) -> Paged[T]:
    """A page of any list given its ordering, how to count it, and how to fetch the rows a `Seek` names."""

    async def fetch_one(wanted: Seek) -> list[Sequence[Keyed[T]]]:
        return [await fetch(wanted)]

    return (await paged_many(key, page, ordering, [count], fetch_one))[0]


async def paged_many(
    key: str,
    page: Page,
    ordering: Ordering,
    counts: Sequence[Count],
    fetch: Callable[[Seek], Awaitable[Sequence[Sequence[Keyed[T]]]]],
) -> list[Paged[T]]:
    """The same page of several lists of one kind (the children of several parents), fetched in one call.

    `fetch` answers a `Seek` with each list's rows, in the order of `counts`.
    """
    wanted, size = seek(key, ordering, page)
    forward = wanted.order is ordering
    if size == 0:
        # A page of no rows (`first: 0` beside `totalCount` or `countsByStatus`) reads none;
        # whether rows lie beyond it is asked of the store only when `pageInfo` is selected.
        def beyond_of(index: int) -> Callable[[], Awaitable[bool]]:
            async def beyond() -> bool:
                return bool((await fetch(wanted))[index])

            return beyond

        return [
            Paged(
                rows=[],
                values=[],
                key=key,
                ordering=ordering,
                has_next=beyond_of(index) if forward else page.before is not None,
                has_previous=page.after is not None if forward else beyond_of(index),
                count=once(count),
            )
            for index, count in enumerate(counts)
        ]
    pages = []
    for count, fetched in zip(counts, await fetch(wanted), strict=True):
        found = list(fetched)
        more = len(found) > size
        found = found[:size]
        if not forward:
            found.reverse()
        pages.append(
            Paged(
                rows=[row for row, _ in found],
                values=[values for _, values in found],
                key=key,
                ordering=ordering,
                has_next=more if forward else page.before is not None,
                has_previous=page.after is not None if forward else more,
                count=once(count),
            )
        )
    return pages
