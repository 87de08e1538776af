"""Enums both stores use."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry

from resolvers.common.objects import enum_reader


def stored(member: Enum) -> str:
    """An enum member as the string a store holds."""
    return str(member.value)


def stored_values(values: list[Any] | None) -> tuple[str, ...]:
    """Enum members of a filter as the strings a store holds; empty means "no filter"."""
    return tuple(stored(member) for member in values or [])


@strawberry.enum(description="Who performed an action.")
class ActorKind(Enum):
    USER = strawberry.enum_value("user", description="A person, signed in.")
    PARTNER = strawberry.enum_value("partner", description="A partner integration with a machine token.")
    INVITEE = strawberry.enum_value(
        "invitee", description="A person accepting an invitation, before they belonged to the organization."
    )
    SYSTEM = strawberry.enum_value("system", description="The platform itself, e.g. a scheduled job.")


actor_kind = enum_reader(ActorKind)  # a stored actor kind's member, one dict lookup per row
