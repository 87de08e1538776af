"""Enums both stores use."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(description="Who performed an action.")
class ActorKind(Enum):
    USER = strawberry.enum_value("user", description="A person, signed in.")
    PARTNER = strawberry.enum_value("partner", description="A partner integration with a machine token.")
    INVITEE = strawberry.enum_value(
        "invitee", description="A person accepting an invitation, before they belonged to the organization."
    )
    SYSTEM = strawberry.enum_value("system", description="The platform itself, e.g. a scheduled job.")
