"""What the Brain actions share: their error codes."""

from __future__ import annotations

from enum import Enum

import strawberry

from resolvers.actions.errors import UserError


@strawberry.enum(description="Why a Brain action (creative or campaign status, campaign edit or budget) did not apply.")
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
    ALREADY_ACTIVE = strawberry.enum_value("ALREADY_ACTIVE", description="The creative or campaign is already active.")
    ALREADY_PAUSED = strawberry.enum_value("ALREADY_PAUSED", description="The creative or campaign is already paused.")
    CAMPAIGN_ARCHIVED = strawberry.enum_value(
        "CAMPAIGN_ARCHIVED", description="Archived campaigns cannot change budget, status or fields."
    )
    ALREADY_ARCHIVED = strawberry.enum_value("ALREADY_ARCHIVED", description="The object is archived already.")
    VERSION_CONFLICT = strawberry.enum_value(
        "VERSION_CONFLICT",
        description="The campaign changed since the version the edit is based on; the payload's `currentVersion` "
        "says which it is at now.",
    )
    NOTHING_TO_UPDATE = strawberry.enum_value("NOTHING_TO_UPDATE", description="The edit names no field to change.")
    INVALID_NAME = strawberry.enum_value("INVALID_NAME", description="The name is blank or too long.")
    INVALID_OBJECTIVE = strawberry.enum_value("INVALID_OBJECTIVE", description="The objective is too long.")
    INVALID_DATES = strawberry.enum_value("INVALID_DATES", description="The end date would fall before the start date.")
    NO_IDS = strawberry.enum_value("NO_IDS", description="A bulk action names no id.")
    TOO_MANY_IDS = strawberry.enum_value("TOO_MANY_IDS", description="A bulk action names more ids than allowed.")
    DUPLICATE_ID = strawberry.enum_value("DUPLICATE_ID", description="A bulk action names an id twice.")
    SAME_CAMPAIGN = strawberry.enum_value("SAME_CAMPAIGN", description="A budget shift needs two different campaigns.")
    CURRENCY_MISMATCH = strawberry.enum_value(
        "CURRENCY_MISMATCH", description="The two campaigns budget in different currencies."
    )
    INSUFFICIENT_BUDGET = strawberry.enum_value(
        "INSUFFICIENT_BUDGET", description="The source campaign has less budget than the amount to shift."
    )


@strawberry.type(
    description="Why a Brain action (creative or campaign status, campaign edit or budget) did not apply. "
    "Nothing was changed."
)
class BrainActionError(UserError):
    """Fields from `UserError`; the code is one of `BrainActionErrorCode`."""
