"""Text and JSON a client sends into a change: bounded, trimmed, and safe to store as given."""

from __future__ import annotations

import json
import re
from typing import Any

from gateway.core.rules import reject

MAX_EMAIL = 254
MAX_NAME = 200
MAX_DESCRIPTION = 2000
MAX_REASON = 500
MAX_JSON_BYTES = 64 * 1024
MAX_JSON_DEPTH = 20
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def email(value: str) -> str:
    """The address in the form it is stored and compared in: trimmed, lower case."""
    address = value.strip().lower()
    if len(address) > MAX_EMAIL or not EMAIL.match(address):
        raise reject("INVALID_EMAIL", f"{value!r} is not an e-mail address", "email")
    return address


def name(value: str) -> str:
    text = value.strip()
    if not text or len(text) > MAX_NAME:
        raise reject("INVALID_NAME", f"the name must be 1 to {MAX_NAME} characters", "name")
    return text


def description(value: str | None) -> str | None:
    """The description, or None when blank (an empty string clears it)."""
    text = (value or "").strip()
    if len(text) > MAX_DESCRIPTION:
        raise reject(
            "INVALID_DESCRIPTION", f"the description must be at most {MAX_DESCRIPTION} characters", "description"
        )
    return text or None


def reason(value: str | None, *, required: bool) -> str | None:
    """Why an action was taken, kept in the action log; None when blank and not required."""
    text = (value or "").strip()
    if required and not text:
        raise reject("REASON_REQUIRED", "a reason is required", "reason")
    if len(text) > MAX_REASON:
        raise reject("REASON_TOO_LONG", f"the reason must be at most {MAX_REASON} characters", "reason")
    return text or None


def check_json(value: Any, field: str, depth: int = 0) -> None:
    """Refuse JSON nested too deep or with keys MongoDB would read as something else."""
    if depth > MAX_JSON_DEPTH:
        raise reject("INVALID_JSON", f"nested deeper than {MAX_JSON_DEPTH} levels", field)
    if isinstance(value, dict):
        for key, item in value.items():
            # MongoDB reads `$` keys as operators and `.` keys as paths; extended JSON reads `$` keys as types.
            if not isinstance(key, str) or key.startswith("$") or "." in key or "\x00" in key:
                raise reject("INVALID_JSON", f"{key!r} cannot be a key (no leading `$`, no `.`)", field)
            check_json(item, field, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_json(item, field, depth + 1)


def json_object(value: Any, field: str) -> dict[str, Any]:
    """A JSON object of bounded size that MongoDB stores as given; null means `{}`."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise reject("INVALID_JSON", "expected a JSON object", field)
    check_json(value, field)
    if len(json.dumps(value)) > MAX_JSON_BYTES:
        raise reject("INVALID_JSON", f"at most {MAX_JSON_BYTES} bytes of JSON", field)
    return value
