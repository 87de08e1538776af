"""Typed rows: frozen dataclasses whose fields are the columns a query selects.

A row type is the single list of its columns: `columns(CampaignRow, "c.")`
writes the SELECT list, `CampaignRow.of(record)` reads a record (an asyncpg
Record, or the dict a stored mutation response holds) back by name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from operator import itemgetter
from types import MemberDescriptorType
from typing import Any, Self

from asyncpg import Record

_NAMES: dict[type, tuple[str, ...]] = {}
_BUILDERS: dict[type, Callable[[Any], Any]] = {}


def _names(row_type: type) -> tuple[str, ...]:
    names = _NAMES.get(row_type)
    if names is None:
        names = _NAMES[row_type] = tuple(f.name for f in dataclasses.fields(row_type))
    return names


def _builder(row_type: type) -> Callable[[Any], Any]:
    builder = _BUILDERS.get(row_type)
    if builder is None:
        builder = _BUILDERS[row_type] = _compiled_builder(row_type) or _plain_builder(row_type)
    return builder


def getter(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A record's values of `names` as a tuple, read in one C call (itemgetter) where there are several."""
    if len(names) > 1:
        return itemgetter(*names)
    # itemgetter of one name returns the value itself, not a 1-tuple.
    return lambda record: tuple(record[name] for name in names)


def _plain_builder(row_type: type) -> Callable[[Any], Any]:
    get = getter(_names(row_type))
    return lambda record: row_type(*get(record))


def _compiled_builder(row_type: type) -> Callable[[Any], Any] | None:
    """For a slotted dataclass without `__post_init__`: its `__init__` written out as slot stores.

    A frozen dataclass's `__init__` stores each field with `object.__setattr__`; storing
    through the slots' own descriptors does the same for a fraction of the calls, and a
    large page builds a row per record.
    """
    names = _names(row_type)
    slots = [vars(row_type).get(name) for name in names]
    if hasattr(row_type, "__post_init__") or not all(isinstance(s, MemberDescriptorType) for s in slots):
        return None
    namespace: dict[str, Any] = {"new": object.__new__, "row_type": row_type, "get": getter(names)}
    values = ", ".join(f"v{index}" for index in range(len(names)))
    lines = ["def build(record):", f" {values}, = get(record)", " row = new(row_type)"]
    for index, slot in enumerate(slots):
        namespace[f"set{index}"] = slot.__set__  # type: ignore[union-attr]
        lines.append(f" set{index}(row, v{index})")
    lines.append(" return row")
    exec(compile("\n".join(lines), f"<{row_type.__name__}.of>", "exec"), namespace)
    built: Callable[[Any], Any] = namespace["build"]
    return built


def columns(row_type: type, alias: str = "") -> str:
    """The SELECT list of a row type, each column prefixed by `alias` (e.g. `c.`)."""
    return ", ".join(alias + name for name in _names(row_type))


class Row:
    """Base of row dataclasses: `of` builds one from any record keyed by column name."""

    __slots__ = ()

    @classmethod
    def of(cls, record: Record | Mapping[str, Any]) -> Self:
        built: Self = _builder(cls)(record)
        return built
