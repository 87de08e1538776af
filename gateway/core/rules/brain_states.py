"""A published Brain state: a JSON object of bounded size, and a version above every earlier one."""

from __future__ import annotations

import json
from typing import Any

from gateway.core.rules import reject

MAX_STATE_BYTES = 256 * 1024
MAX_STATE_DEPTH = 64
MAX_VERSION = 2**31 - 1


def state(value: Any, field: str = "state") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise reject("INVALID_STATE", "a Brain state is a JSON object", field)
    _bounded_depth(value, field)
    if len(json.dumps(value, separators=(",", ":"))) > MAX_STATE_BYTES:
        raise reject("STATE_TOO_LARGE", f"a Brain state is at most {MAX_STATE_BYTES:,} bytes of JSON", field)
    return value


def _bounded_depth(value: Any, field: str) -> None:
    # Iterative: a deep value must be refused, not crash the walk that checks it.
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_STATE_DEPTH:
            raise reject("INVALID_STATE", f"nested deeper than {MAX_STATE_DEPTH} levels", field)
        if isinstance(item, dict):
            pending.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            pending.extend((v, depth + 1) for v in item)


def next_version(requested: int, newest: int, field: str = "version") -> int:
    """The version to store: positive and above the newest stored one (gaps are allowed)."""
    if requested < 1 or requested > MAX_VERSION:
        raise reject("INVALID_VERSION", f"a version is 1 to {MAX_VERSION:,}", field)
    if requested <= newest:
        raise reject(
            "STALE_VERSION", f"version {requested} is not above the newest published version ({newest})", field
        )
    return requested
