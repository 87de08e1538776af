"""What the Brain actions share: their error codes."""

from __future__ import annotations

import strawberry

from resolvers.actions.errors import UserError, UserErrorCode, codes

# The codes the Brain action mutations may answer in `userErrors`; `typed_errors` refuses others.
BRAIN_ACTION_CODES = codes(
    UserErrorCode.INVALID_ID,
    UserErrorCode.NOT_FOUND,
    UserErrorCode.REASON_REQUIRED,
    UserErrorCode.REASON_TOO_LONG,
    UserErrorCode.INVALID_AMOUNT,
    UserErrorCode.CREATIVE_ARCHIVED,
    UserErrorCode.ALREADY_ACTIVE,
    UserErrorCode.ALREADY_PAUSED,
    UserErrorCode.CAMPAIGN_ARCHIVED,
    UserErrorCode.ALREADY_ARCHIVED,
    UserErrorCode.VERSION_CONFLICT,
    UserErrorCode.NOTHING_TO_UPDATE,
    UserErrorCode.INVALID_NAME,
    UserErrorCode.INVALID_OBJECTIVE,
    UserErrorCode.INVALID_DATES,
    UserErrorCode.NO_IDS,
    UserErrorCode.TOO_MANY_IDS,
    UserErrorCode.DUPLICATE_ID,
    UserErrorCode.SAME_CAMPAIGN,
    UserErrorCode.CURRENCY_MISMATCH,
    UserErrorCode.INSUFFICIENT_BUDGET,
)


@strawberry.type(
    description="Why a Brain action (creative or campaign status, campaign edit or budget) did not apply. "
    "Nothing was changed."
)
class BrainActionError(UserError):
    """Fields from `UserError`; the code is one of `BRAIN_ACTION_CODES`."""
