"""The comparison vocabulary every list filter uses, as plain values the domain modules render.

Resolvers turn GraphQL filter inputs into these; each store's domain module
renders them (SQL conditions through `Where`, MongoDB through `mongo_condition`).
A range of instants is half-open (`start` inclusive, `end` exclusive), so
consecutive ranges never overlap; a range of days is inclusive at both ends.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

Number = int | Decimal


@dataclass(frozen=True)
class Comparison:
    """Numeric bounds: every bound given must hold."""

    eq: Number | None = None
    gt: Number | None = None
    gte: Number | None = None
    lt: Number | None = None
    lte: Number | None = None

    def bounds(self) -> list[tuple[str, Number]]:
        """(operator, value) pairs of the bounds given, operators as SQL spells them."""
        pairs = (("=", self.eq), (">", self.gt), (">=", self.gte), ("<", self.lt), ("<=", self.lte))
        return [(op, value) for op, value in pairs if value is not None]


@dataclass(frozen=True)
class Sort:
    """One key of an `orderBy`: a field the list sorts by (as its domain module names it) and the direction."""

    field: str
    descending: bool = False


@dataclass(frozen=True)
class TimeRange:
    """Instants from `start` (inclusive) to `end` (exclusive); either may be open."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None


@dataclass(frozen=True)
class DayRange:
    """Days from `first` to `last`, both inclusive; either may be open."""

    first: dt.date | None = None
    last: dt.date | None = None


_MONGO_OPERATORS = {"=": "$eq", ">": "$gt", ">=": "$gte", "<": "$lt", "<=": "$lte"}


def mongo_comparison(comparison: Comparison | None, scale: int = 1) -> dict[str, Any] | None:
    """A MongoDB condition for `comparison`; `scale` converts units (100 for amounts held as cents)."""
    if comparison is None or not comparison.bounds():
        return None
    return {_MONGO_OPERATORS[op]: _scaled(value, scale) for op, value in comparison.bounds()}


def mongo_time_range(time_range: TimeRange | None) -> dict[str, Any] | None:
    """A MongoDB condition for `time_range`: `$gte` the start, `$lt` the end."""
    if time_range is None or (time_range.start is None and time_range.end is None):
        return None
    condition: dict[str, Any] = {}
    if time_range.start is not None:
        condition["$gte"] = time_range.start
    if time_range.end is not None:
        condition["$lt"] = time_range.end
    return condition


def _scaled(value: Number, scale: int) -> int | float:
    scaled = value * scale
    if isinstance(scaled, Decimal):
        return int(scaled) if scaled == scaled.to_integral_value() else float(scaled)
    return scaled
