"""A platform credential's secret: what may be stored, and the hint that may be shown.

No message here quotes the secret: user errors are returned, logged as action
results and kept with idempotent responses.
"""

from __future__ import annotations

from gateway.core.rules import reject

MIN_SECRET = 12
MAX_SECRET = 4096
HINT_CHARS = 4


def secret(value: str, field: str = "secret") -> str:
    """The secret as given (a secret is opaque: nothing is trimmed), when it may be one."""
    if not value.strip():
        raise reject("SECRET_REQUIRED", "the secret is missing or blank", field)
    if len(value) < MIN_SECRET:
        raise reject("SECRET_TOO_SHORT", f"a secret has at least {MIN_SECRET} characters", field)
    if len(value) > MAX_SECRET:
        raise reject("SECRET_TOO_LONG", f"a secret has at most {MAX_SECRET:,} characters", field)
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise reject("SECRET_INVALID", "a secret cannot contain control characters or line breaks", field)
    return value


def key_hint(value: str) -> str:
    """The last characters of a secret: enough to tell two keys apart, a small part of any allowed secret."""
    return "…" + value[-HINT_CHARS:]
