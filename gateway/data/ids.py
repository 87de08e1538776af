"""Relay global ids: the one codec for both stores.

A global id is `base64url("<Type>:<raw id>")` without padding; the raw id is a
UUID (PostgreSQL), a 24-hex ObjectId (MongoDB) or an e-mail address (members).
"""

from __future__ import annotations

import base64
import binascii
from uuid import UUID

from bson import ObjectId

from gateway.errors import BadUserInput


class InvalidId(BadUserInput):
    """A global id that is malformed, of another type, or without a valid raw id inside."""


def to_global_id(type_name: str, raw_id: object) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{raw_id}".encode()).decode().rstrip("=")


def from_global_id(global_id: str) -> tuple[str, str]:
    """(type name, raw id) of a global id."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        decoded = base64.urlsafe_b64decode(padded.encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidId(f"{global_id!r} is not a valid id") from None
    type_name, sep, raw = decoded.partition(":")
    if not sep or not type_name or not raw:
        raise InvalidId(f"{global_id!r} is not a valid id")
    return type_name, raw


def raw_id(global_id: str, expected: str) -> str:
    """The raw id inside a global id of type `expected`."""
    type_name, raw = from_global_id(global_id)
    if type_name != expected:
        raise InvalidId(f"{global_id!r} is not a {expected} id")
    return raw


def uuid_id(global_id: str, expected: str) -> UUID:
    """The UUID inside a global id of type `expected` (PostgreSQL rows)."""
    raw = raw_id(global_id, expected)
    try:
        return UUID(raw)
    except ValueError:
        raise InvalidId(f"{global_id!r} is not a valid {expected} id") from None


def object_id(global_id: str, expected: str) -> ObjectId:
    """The ObjectId inside a global id of type `expected` (MongoDB documents)."""
    raw = raw_id(global_id, expected)
    if not ObjectId.is_valid(raw):
        raise InvalidId(f"{global_id!r} is not a valid {expected} id")
    return ObjectId(raw)


def parse_uuid(raw: str) -> UUID | None:
    """A raw id as a UUID, or None: `node(id:)` answers null for ids that cannot exist."""
    try:
        return UUID(raw)
    except ValueError:
        return None
