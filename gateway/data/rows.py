"""Typed rows: frozen dataclasses whose fields are the columns a query selects.

A row type is the single list of its columns: `columns(CampaignRow, "c.")`
writes the SELECT list, `CampaignRow.of(record)` reads a record (an asyncpg
Record, or the dict a stored mutation response holds) back by name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from operator import itemgetter
from typing import Any, Self

from asyncpg import Record

_NAMES: dict[type, tuple[str, ...]] = {}
_GETTERS: dict[type, Callable[[Any], tuple[Any, ...]]] = {}


def _names(row_type: type) -> tuple[str, ...]:
    names = _NAMES.get(row_type)
    if names is None:
        names = _NAMES[row_type] = tuple(f.name for f in dataclasses.fields(row_type))
    return names


def _getter(row_type: type) -> Callable[[Any], tuple[Any, ...]]:
    getter = _GETTERS.get(row_type)
    if getter is None:
        names = _names(row_type)
        # itemgetter of one name returns the value itself, not a 1-tuple.
        getter = itemgetter(*names) if len(names) > 1 else (lambda record: (record[names[0]],))
        _GETTERS[row_type] = getter
    return getter


def columns(row_type: type, alias: str = "") -> str:
    """The SELECT list of a row type, each column prefixed by `alias` (e.g. `c.`)."""
    return ", ".join(alias + name for name in _names(row_type))


class Row:
    """Base of row dataclasses: `of` builds one from any record keyed by column name."""

    __slots__ = ()

    @classmethod
    def of(cls, record: Record | Mapping[str, Any]) -> Self:
        return cls(*_getter(cls)(record))
