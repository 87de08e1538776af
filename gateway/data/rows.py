"""Typed rows: `typing.NamedTuple` classes whose fields are the columns a query selects.

A row type is the single list of its columns: `columns(CampaignRow, "c.")`
writes the SELECT list, `row_of(CampaignRow)(record)` reads a record (an asyncpg
Record, or the dict a stored mutation response holds) back by name.

Named tuples rather than frozen slotted dataclasses: a large page builds a row
per record, and a tuple subclass is made in one C call from the values one
`itemgetter` reads, where a dataclass stores its fields one by one. Reading a
field costs the same. They compare and hash as plain tuples (the row type is not
part of equality), and `_asdict()`/`_replace()` stand for `asdict`/`replace`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar

from asyncpg import Record

R = TypeVar("R", bound=NamedTuple)

_BUILDERS: dict[type, Callable[[Any], Any]] = {}


def getter(keys: tuple[str, ...] | tuple[int, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A record's values at `keys` (names or positions) as a tuple, read in one C call (itemgetter) where there are several."""
    if len(keys) > 1:
        return itemgetter(*keys)
    # itemgetter of one key returns the value itself, not a 1-tuple.
    return lambda record: tuple(record[key] for key in keys)


def names(row_type: type[NamedTuple]) -> tuple[str, ...]:
    """The columns of a row type, in the order it selects them."""
    fields: tuple[str, ...] = row_type._fields
    return fields


def columns(row_type: type[NamedTuple], alias: str = "") -> str:
    """The SELECT list of a row type, each column prefixed by `alias` (e.g. `c.`)."""
    return ", ".join(alias + name for name in names(row_type))


def row_of(row_type: type[R]) -> Callable[[Record | Mapping[str, Any]], R]:
    """Builds a `row_type` from any record keyed by column name (extra keys are ignored); made once per type."""
    build = _BUILDERS.get(row_type)
    if build is None:
        get = getter(names(row_type))
        new = tuple.__new__
        # `tuple.__new__` skips the generated `__new__` and its keyword binding: the values come in field order.
        build = _BUILDERS[row_type] = lambda record: new(row_type, get(record))
    built: Callable[[Record | Mapping[str, Any]], R] = build
    return built


def is_row(value: object) -> bool:
    """Whether `value` is a typed row (a named tuple), as opposed to a record or mapping."""
    return isinstance(value, tuple) and hasattr(value, "_fields")
