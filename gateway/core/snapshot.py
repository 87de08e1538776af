"""JSON that keeps Python types: how a mutation's first result is stored for idempotent replays.

A replay must return exactly the first response, so payloads are rebuilt
from the rows as they were, not re-read. Rows hold UUIDs, Decimals, dates
and datetimes; they are tagged on the way in and restored on the way out.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from uuid import UUID


def _encode(value: Any) -> Any:
    if isinstance(value, UUID):
        return {"$uuid": str(value)}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, Mapping) or hasattr(value, "items"):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


_DECODERS: dict[str, Callable[[str], Any]] = {
    "$uuid": UUID,
    "$decimal": Decimal,
    "$datetime": dt.datetime.fromisoformat,
    "$date": dt.date.fromisoformat,
}


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            ((tag, raw),) = value.items()
            if tag in _DECODERS:
                return _DECODERS[tag](raw)
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def encode(value: Any) -> Any:
    """A JSON-ready structure (for a jsonb column or a MongoDB document)."""
    return _encode(value)


def decode(value: Any) -> Any:
    return _decode(json.loads(value) if isinstance(value, str) else value)


def row(record: Any) -> dict[str, Any]:
    """An asyncpg Record (or mapping) as a plain dict."""
    return dict(record.items())
