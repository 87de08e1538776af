"""What the Brain actions share: their error codes."""

from __future__ import annotations

from enum import Enum

import strawberry

from resolvers.actions.errors import UserError


@strawberry.enum(description="Why a Brain action (creative status, campaign budget) did not apply.")
class BrainActionErrorCode(Enum):
    INVALID_ID = strawberry.enum_value("INVALID_ID", description="An id is malformed or names another type.")
    NOT_FOUND = strawberry.enum_value("NOT_FOUND", description="The object does not exist in your organization.")
    REASON_REQUIRED = strawberry.enum_value("REASON_REQUIRED", description="The reason is missing or blank.")
    REASON_TOO_LONG = strawberry.enum_value("REASON_TOO_LONG", description="The reason is longer than allowed.")
    INVALID_AMOUNT = strawberry.enum_value(
        "INVALID_AMOUNT",
        description="The amount is negative (or zero where it must be positive), or a result would exceed the maximum.",
    )
    CREATIVE_ARCHIVED = strawberry.enum_value(
        "CREATIVE_ARCHIVED", description="Archived creatives cannot change status."
    )
    ALREADY_ACTIVE = strawberry.enum_value("ALREADY_ACTIVE", description="The creative is already active.")
    ALREADY_PAUSED = strawberry.enum_value("ALREADY_PAUSED", description="The creative is already paused.")
    CAMPAIGN_ARCHIVED = strawberry.enum_value(
        "CAMPAIGN_ARCHIVED", description="Archived campaigns cannot change budget."
    )
    SAME_CAMPAIGN = strawberry.enum_value("SAME_CAMPAIGN", description="A budget shift needs two different campaigns.")
    CURRENCY_MISMATCH = strawberry.enum_value(
        "CURRENCY_MISMATCH", description="The two campaigns budget in different currencies."
    )
    INSUFFICIENT_BUDGET = strawberry.enum_value(
        "INSUFFICIENT_BUDGET", description="The source campaign has less budget than the amount to shift."
    )


@strawberry.type(
    description="Why a Brain action (creative status, campaign budget) did not apply. Nothing was changed."
)
class BrainActionError(UserError):
    """Fields from `UserError`; the code is one of `BrainActionErrorCode`."""
