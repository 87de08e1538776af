"""What the team mutations share: their error codes and the invitation payload."""

from __future__ import annotations

import strawberry

from resolvers.actions.common import USER_ERRORS, Outcome, typed_errors
from resolvers.actions.errors import UserError, UserErrorCode, codes
from resolvers.enterprise.types import Invitation

# The codes the team (invitation and member) mutations may answer in `userErrors`; `typed_errors` refuses others.
TEAM_CODES = codes(
    UserErrorCode.INVALID_ID,
    UserErrorCode.NOT_FOUND,
    UserErrorCode.INVALID_INPUT,
    UserErrorCode.INVALID_EMAIL,
    UserErrorCode.ALREADY_MEMBER,
    UserErrorCode.EMAIL_IN_USE,
    UserErrorCode.INVITATION_PENDING,
    UserErrorCode.QUOTA_EXCEEDED,
    UserErrorCode.NOT_PENDING,
    UserErrorCode.EXPIRED,
    UserErrorCode.NOTHING_TO_UPDATE,
    UserErrorCode.SELF_PROMOTION,
    UserErrorCode.OWNER_REQUIRED,
    UserErrorCode.LAST_OWNER,
    UserErrorCode.BRAIN_ACCOUNT,
)


@strawberry.type(description="Why a team change (invitation or member) did not apply. Nothing was changed.")
class TeamError(UserError):
    """Fields from `UserError`; the code is one of `TEAM_CODES`."""


@strawberry.type(description="Result of revoking or accepting an invitation.")
class InvitationPayload:
    invitation: Invitation | None = strawberry.field(description="The invitation after the change.")
    user_errors: list[TeamError] = strawberry.field(description=USER_ERRORS)


def invitation_payload(outcome: Outcome) -> InvitationPayload:
    return InvitationPayload(
        invitation=outcome.built("invitation", Invitation.from_doc),
        user_errors=typed_errors(outcome.errors, TeamError, TEAM_CODES),
    )
