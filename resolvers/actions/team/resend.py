"""resendInvitation: a new token for a pending invitation; the old token stops working."""

from __future__ import annotations

import secrets
from functools import partial
from typing import Annotated

import strawberry

from gateway.core.mongo_mutations import Audit, Writes, now
from gateway.core.permissions import Permission
from gateway.core.rules import reject
from gateway.core.rules.invitations import acceptance_error, token_hash
from gateway.data.enterprise import invitations
from resolvers.actions.common import USER_ERRORS, Ctx, IdempotencyKey, Outcome, parse_object_id, typed_errors
from resolvers.actions.enterprise import run_enterprise_mutation
from resolvers.actions.team.common import TEAM_CODES, TeamError
from resolvers.enterprise.types import Invitation

PERMISSION = Permission.MANAGE_TEAM
FIELD = "invitationId"


@strawberry.input(description="Send a pending invitation again, with a new token and a new expiry.")
class ResendInvitationInput:
    invitation_id: strawberry.ID = strawberry.field(description="The invitation.")
    idempotency_key: str | None = IdempotencyKey


@strawberry.type(description="Result of resending an invitation.")
class ResendInvitationPayload:
    invitation: Invitation | None = strawberry.field(description="The invitation with its new expiry.")
    token: str | None = strawberry.field(
        description="The new secret the invitee accepts with; the previous one no longer works. Returned only by "
        "the request that made it (an idempotent replay returns null) and never stored, only its SHA-256 hash."
    )
    user_errors: list[TeamError] = strawberry.field(description=USER_ERRORS)


async def _resend(data: ResendInvitationInput, issued: dict[str, str], w: Writes) -> Outcome:
    invitation_id = parse_object_id(data.invitation_id, "Invitation", FIELD)
    current = await invitations.find(w, invitation_id)
    if current is None:
        raise reject("NOT_FOUND", "no such invitation in your organization", FIELD)
    moment = now()
    error = acceptance_error(current["status"], current["expires_at"], moment, FIELD)
    if error is not None:
        raise error
    token = secrets.token_urlsafe(32)
    audit = Audit("invitation.resent", "Invitation", str(invitation_id), {"email": current["email"]})
    updated = await invitations.resend(w, invitation_id, token_hash(token), moment, audit)
    if updated is None:
        raise reject("NOT_PENDING", "the invitation was answered or ran out meanwhile", FIELD)
    issued["token"] = token
    return Outcome(rows={"invitation": invitations.public(updated)})


async def resend_invitation(
    info: Ctx, input: Annotated[ResendInvitationInput, strawberry.argument(description="What to resend.")]
) -> ResendInvitationPayload:
    issued: dict[str, str] = {}  # the token exists only in this response, never in a stored one
    outcome = await run_enterprise_mutation(
        info,
        operation="resendInvitation",
        permission=PERMISSION,
        input=input,
        perform=partial(_resend, input, issued),
    )
    return ResendInvitationPayload(
        invitation=outcome.built("invitation", Invitation.from_doc),
        token=issued.get("token"),
        user_errors=typed_errors(outcome.errors, TeamError, TEAM_CODES),
    )


mutation = strawberry.mutation(
    resolver=resend_invitation,
    description="Give a pending invitation a new token and restart its 7 days; the old token stops working at "
    "once. An expired invitation is `EXPIRED` (invite the address again instead: that takes a seat anew), an "
    "accepted or revoked one `NOT_PENDING`. Needs the admin or owner role.",
)
