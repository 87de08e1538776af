"""Text a client controls, checked before any store or log sees it.

PostgreSQL refuses NUL in text and BSON strings must be valid UTF-8, so a
string carrying either fails inside a driver, as an error of the server rather
than of the caller, unless it is refused first.
"""

from __future__ import annotations

import re

# NUL, and surrogate code points: a well-formed pair decodes to one astral character,
# so any surrogate left in a Python string was unpaired.
_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")


def string_problem(text: str) -> str | None:
    """What makes `text` unstorable (NUL, an unpaired surrogate), or None when it is fine."""
    found = _FORBIDDEN.search(text)
    if found is None:
        return None
    return "contains a NUL character" if found.group() == "\x00" else "contains an unpaired UTF-16 surrogate"
