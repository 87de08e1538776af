"""What the team mutations share: their error codes and the invitation payload."""

from __future__ import annotations

from enum import Enum

import strawberry

from resolvers.actions.common import USER_ERRORS, Outcome, typed_errors
from resolvers.actions.errors import UserError
from resolvers.enterprise.types import Invitation


@strawberry.enum(description="Why a team change (invitation or member) did not apply.")
class TeamErrorCode(Enum):
    INVALID_ID = strawberry.enum_value("INVALID_ID", description="An id is malformed or names another type.")
    NOT_FOUND = strawberry.enum_value("NOT_FOUND", description="The object does not exist in your organization.")
    INVALID_INPUT = strawberry.enum_value(
        "INVALID_INPUT", description="The input combines or omits arguments in a way that is not allowed."
    )
    INVALID_EMAIL = strawberry.enum_value("INVALID_EMAIL", description="The e-mail address is malformed.")
    ALREADY_MEMBER = strawberry.enum_value("ALREADY_MEMBER", description="The person is already a member.")
    EMAIL_IN_USE = strawberry.enum_value(
        "EMAIL_IN_USE", description="The e-mail address has an account in another organization."
    )
    INVITATION_PENDING = strawberry.enum_value(
        "INVITATION_PENDING", description="The person already has a pending invitation."
    )
    QUOTA_EXCEEDED = strawberry.enum_value(
        "QUOTA_EXCEEDED", description="All seats are taken by members and open invitations."
    )
    NOT_PENDING = strawberry.enum_value(
        "NOT_PENDING", description="The invitation was already accepted, revoked or answered meanwhile."
    )
    EXPIRED = strawberry.enum_value("EXPIRED", description="The invitation has expired.")
    NOTHING_TO_UPDATE = strawberry.enum_value("NOTHING_TO_UPDATE", description="The member already has that role.")
    SELF_PROMOTION = strawberry.enum_value("SELF_PROMOTION", description="Nobody may raise their own role.")
    OWNER_REQUIRED = strawberry.enum_value(
        "OWNER_REQUIRED", description="Only an owner grants the owner role, or demotes or removes an owner."
    )
    LAST_OWNER = strawberry.enum_value(
        "LAST_OWNER", description="The organization's last owner can be neither demoted nor removed."
    )
    BRAIN_ACCOUNT = strawberry.enum_value(
        "BRAIN_ACCOUNT",
        description="The member also signs in with a Brain account, which would keep them in the organization; "
        "remove that account in the Brain app first.",
    )


@strawberry.type(description="Why a team change (invitation or member) did not apply. Nothing was changed.")
class TeamError(UserError):
    """Fields from `UserError`; the code is one of `TeamErrorCode`."""


@strawberry.type(description="Result of revoking or accepting an invitation.")
class InvitationPayload:
    invitation: Invitation | None = strawberry.field(description="The invitation after the change.")
    user_errors: list[TeamError] = strawberry.field(description=USER_ERRORS)


def invitation_payload(outcome: Outcome) -> InvitationPayload:
    return InvitationPayload(
        invitation=outcome.built("invitation", Invitation.from_doc),
        user_errors=typed_errors(outcome.errors, TeamError, TeamErrorCode),
    )
