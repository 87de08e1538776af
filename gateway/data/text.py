"""Substring filters from clients (`nameContains`), bounded before they reach a store."""

from __future__ import annotations

from gateway.errors import BadUserInput

MAX_CONTAINS_LENGTH = 200


def contains_text(text: str) -> str:
    """A `nameContains` filter text, refused with `BAD_USER_INPUT` when it is longer than any name."""
    if len(text) > MAX_CONTAINS_LENGTH:
        raise BadUserInput(
            f"argument 'filter': nameContains must be at most {MAX_CONTAINS_LENGTH} characters (got {len(text)})",
            argument="filter",
        )
    return text
