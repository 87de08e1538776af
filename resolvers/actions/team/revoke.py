"""revokeInvitation: withdraw a pending invitation."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import strawberry

from gateway.core.mongo_mutations import Audit, Writes
from gateway.core.permissions import Permission
from gateway.core.rules import reject
from gateway.data.enterprise import invitations
from resolvers.actions.common import Ctx, IdempotencyKey, Outcome, parse_object_id
from resolvers.actions.enterprise import run_enterprise_mutation
from resolvers.actions.team.common import InvitationPayload, invitation_payload

PERMISSION = Permission.MANAGE_TEAM


@strawberry.input(description="Withdraw a pending invitation.")
class RevokeInvitationInput:
    invitation_id: strawberry.ID = strawberry.field(description="The invitation.")
    idempotency_key: str | None = IdempotencyKey


async def _revoke(info: Ctx, data: RevokeInvitationInput, w: Writes) -> Outcome:
    invitation_id = parse_object_id(data.invitation_id, "Invitation", "invitationId")
    current = await invitations.find(w, invitation_id)
    if current is None:
        raise reject("NOT_FOUND", "no such invitation in your organization", "invitationId")
    if current["status"] != "pending":
        raise reject("NOT_PENDING", f"the invitation is {current['status']}, not pending", "invitationId")
    audit = Audit("invitation.revoked", "Invitation", str(invitation_id), {"email": current["email"]})
    updated = await invitations.revoke(w, invitation_id, info.context.principal.subject, audit)
    if updated is None:
        raise reject("NOT_PENDING", "the invitation was answered meanwhile", "invitationId")
    return Outcome(rows={"invitation": invitations.public(updated)})


async def revoke_invitation(
    info: Ctx, input: Annotated[RevokeInvitationInput, strawberry.argument(description="What to revoke.")]
) -> InvitationPayload:
    outcome = await run_enterprise_mutation(
        info,
        operation="revokeInvitation",
        permission=PERMISSION,
        input=input,
        perform=partial(_revoke, info, input),
    )
    return invitation_payload(outcome)


mutation = strawberry.mutation(
    resolver=revoke_invitation, description="Withdraw a pending invitation. Needs the admin or owner role."
)
