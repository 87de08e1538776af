"""Substring filters from clients (`nameContains`), bounded before they reach a store."""

from __future__ import annotations

from gateway.errors import BadUserInput

MAX_CONTAINS_LENGTH = 200


def contains_text(text: str, name: str = "nameContains") -> str:
    """A substring filter's text (`name`: the filter field), refused with `BAD_USER_INPUT` when longer than any name."""
    if len(text) > MAX_CONTAINS_LENGTH:
        raise BadUserInput(
            f"argument 'filter': {name} must be at most {MAX_CONTAINS_LENGTH} characters (got {len(text)})",
            argument="filter",
        )
    return text
