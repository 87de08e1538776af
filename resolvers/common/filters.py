"""The filter and ordering inputs every connection shares, and their conversion to data-access values.

Every list takes `filter:` (an input per list built from these parts) and
`orderBy: [{field, direction}]`; the data-access layer receives the plain
values of `gateway.data.filters`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from enum import Enum
from typing import Protocol

import strawberry

from gateway.data.filters import Comparison, DayRange, Sort, TimeRange
from gateway.errors import BadUserInput


@strawberry.enum(description="Sort direction.")
class OrderDirection(Enum):
    ASC = strawberry.enum_value("ASC", description="Smallest (or earliest, or A) first.")
    DESC = strawberry.enum_value("DESC", description="Largest (or latest, or Z) first.")


@strawberry.input(description="Instants from `from` (inclusive) to `to` (exclusive); either bound may be left out.")
class DateTimeRange:
    from_: dt.datetime | None = strawberry.field(default=None, name="from", description="Earliest instant, inclusive.")
    to: dt.datetime | None = strawberry.field(default=None, description="Latest instant, exclusive.")


@strawberry.input(description="Days from `from` to `to`, both inclusive; either bound may be left out.")
class DateRange:
    from_: dt.date | None = strawberry.field(default=None, name="from", description="First day, inclusive.")
    to: dt.date | None = strawberry.field(default=None, description="Last day, inclusive.")


@strawberry.input(description="Bounds on a whole number; every bound given must hold.")
class IntComparison:
    eq: int | None = strawberry.field(default=None, description="Equal to.")
    gt: int | None = strawberry.field(default=None, description="Greater than.")
    gte: int | None = strawberry.field(default=None, description="Greater than or equal to.")
    lt: int | None = strawberry.field(default=None, description="Less than.")
    lte: int | None = strawberry.field(default=None, description="Less than or equal to.")


@strawberry.input(description="Bounds on a decimal amount, e.g. a budget; every bound given must hold.")
class DecimalComparison:
    eq: Decimal | None = strawberry.field(default=None, description="Equal to.")
    gt: Decimal | None = strawberry.field(default=None, description="Greater than.")
    gte: Decimal | None = strawberry.field(default=None, description="Greater than or equal to.")
    lt: Decimal | None = strawberry.field(default=None, description="Less than.")
    lte: Decimal | None = strawberry.field(default=None, description="Less than or equal to.")


@strawberry.input(description="Bounds on a ratio, e.g. a return on ad spend of `1.5`; every bound given must hold.")
class FloatComparison:
    eq: float | None = strawberry.field(default=None, description="Equal to.")
    gt: float | None = strawberry.field(default=None, description="Greater than.")
    gte: float | None = strawberry.field(default=None, description="Greater than or equal to.")
    lt: float | None = strawberry.field(default=None, description="Less than.")
    lte: float | None = strawberry.field(default=None, description="Less than or equal to.")


class OrderKey(Protocol):
    """An `<X>Order` input: a field whose enum value names the domain module's sort field, and a direction."""

    @property
    def field(self) -> Enum: ...

    @property
    def direction(self) -> OrderDirection: ...


def sorts(order_by: Sequence[OrderKey] | None) -> list[Sort]:
    """The `orderBy` keys as data-access values; empty for the list's default order."""
    return [Sort(str(key.field.value), key.direction == OrderDirection.DESC) for key in order_by or ()]


def time_range(value: DateTimeRange | None) -> TimeRange | None:
    if value is None:
        return None
    if value.from_ and value.to and value.from_ > value.to:
        raise BadUserInput("`from` must not be after `to`")
    return TimeRange(value.from_, value.to)


def day_range(value: DateRange | None) -> DayRange | None:
    return None if value is None else DayRange(value.from_, value.to)


def comparison(value: IntComparison | DecimalComparison | None) -> Comparison | None:
    return None if value is None else Comparison(value.eq, value.gt, value.gte, value.lt, value.lte)


def float_comparison(value: FloatComparison | None) -> Comparison | None:
    """Bounds on a ratio as exact decimals: `0.1` is compared as the decimal 0.1, not as its binary float."""

    def exact(bound: float | None) -> Decimal | None:
        # repr is the shortest text that reads back as the same float: what the caller wrote.
        return None if bound is None else Decimal(repr(bound))

    if value is None:
        return None
    return Comparison(exact(value.eq), exact(value.gt), exact(value.gte), exact(value.lt), exact(value.lte))
