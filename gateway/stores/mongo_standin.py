"""The embedded stand-in (nx-27017): how it is recognised, and what it needs that MongoDB does not.

Only the MongoDB adapter (`mongo.py`) applies these, and only when `ServerProfile.stand_in`
says the server is the stand-in; MongoDB itself gets every filter and update unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# A field no document has: the target of the stand-in's no-op `$pull` (see `keep_datetime_types`).
DATETIME_GUARD = "_never_present"
STAND_IN_PROCESS = "nx_27017"


@dataclass(frozen=True)
class ServerProfile:
    """What the server behind the client is, asked once."""

    stand_in: bool  # the embedded nx-27017 server, not MongoDB
    version: tuple[int, ...]

    @property
    def window_functions(self) -> bool:
        """`$setWindowFields` with `$documentNumber` (MongoDB 5.0 and later; not the stand-in)."""
        return not self.stand_in and self.version >= (5, 0)

    @classmethod
    def of(cls, build_info: Mapping[str, Any]) -> ServerProfile:
        """What the server is: the stand-in announces itself as its `process` in `buildInfo`."""
        return cls(
            stand_in=build_info.get("process") == STAND_IN_PROCESS, version=_version(str(build_info.get("version", "")))
        )


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for part in text.split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


def null_matches(query: Mapping[str, Any]) -> dict[str, Any]:
    """The filter as the stand-in needs it to match what MongoDB would.

    The stand-in's `{field: null}` matches a missing field but not a stored
    null; `{field: {"$in": [null]}}` matches both there, as `{field: null}`
    does on MongoDB (which gets the filter unchanged).
    """
    rewritten: dict[str, Any] = {}
    for key, value in query.items():
        if key in ("$and", "$or", "$nor") and isinstance(value, list):
            rewritten[key] = [null_matches(part) if isinstance(part, Mapping) else part for part in value]
        elif value is None and not key.startswith("$"):
            rewritten[key] = {"$in": [None]}
        else:
            rewritten[key] = value
    return rewritten


def sets_datetime(update: Mapping[str, Any]) -> bool:
    """Whether an update `$set`s a datetime, which the stand-in needs `keep_datetime_types` for."""
    sets = update.get("$set")
    return isinstance(sets, Mapping) and any(isinstance(value, dt.datetime) for value in sets.values())


def keep_datetime_types(update: Mapping[str, Any]) -> dict[str, Any]:
    """The update as the stand-in needs it to keep the types of the values it sets.

    The stand-in runs a simple update as SQL that binds a datetime as text,
    so a `$set` of one would store a string; a `$pull` of a field no document
    has sends it down its document-level path, which keeps the type (but
    drops a dotted `$unset`, which nothing here combines with a datetime).
    MongoDB itself needs nothing, and gets nothing.
    """
    return {**update, "$pull": {DATETIME_GUARD: None}}


def count_here(docs: list[dict[str, Any]], fields: Sequence[str]) -> dict[tuple[str, ...], int]:
    """dict[str, Any]s counted per combination of the values of `fields`: the stand-in groups by one field only
    (a compound `_id` comes back as its literal text)."""
    counted: dict[tuple[str, ...], int] = {}
    for doc in docs:
        values = tuple(str(doc.get(name)) for name in fields)
        counted[values] = counted.get(values, 0) + 1
    return counted


def page_groups(docs: list[dict[str, Any]], group: str, skip: int, limit: int) -> dict[str, list[dict[str, Any]]]:
    """The documents `skip`..`skip + limit` of each group, paged here: the stand-in has no window functions."""
    return {key: found[skip : skip + limit] for key, found in grouped(docs, group).items()}


def grouped(docs: list[dict[str, Any]], field: str) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        groups.setdefault(str(doc.get(field)), []).append(doc)
    return groups
