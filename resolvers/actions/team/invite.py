"""inviteTeamMember: invite a person by e-mail, holding a seat of the `seats` quota."""

from __future__ import annotations

import secrets
from functools import partial
from typing import Annotated

import strawberry

from gateway.core.mongo_mutations import Audit, Writes, now
from gateway.core.permissions import Permission
from gateway.core.rules import reject, text
from gateway.core.rules.invitations import token_hash
from gateway.data.enterprise import invitations, members, seats
from resolvers.actions.common import USER_ERRORS, Ctx, IdempotencyKey, Outcome, typed_errors
from resolvers.actions.enterprise import run_enterprise_mutation
from resolvers.actions.team.common import TEAM_CODES, TeamError
from resolvers.common.enums import stored
from resolvers.enterprise.enums import InvitationRole
from resolvers.enterprise.types import Invitation

PERMISSION = Permission.MANAGE_TEAM


@strawberry.input(description="Invite a person to the organization by e-mail.")
class InviteTeamMemberInput:
    email: str = strawberry.field(description="Address to invite; compared without regard to case.")
    role: InvitationRole = strawberry.field(description="Role the invitee gets on accepting.")
    idempotency_key: str | None = IdempotencyKey


@strawberry.type(description="Result of inviting a team member.")
class InviteTeamMemberPayload:
    invitation: Invitation | None = strawberry.field(description="The new invitation.")
    token: str | None = strawberry.field(
        description="The secret the invitee accepts with. Returned only by the request that created the invitation "
        "(an idempotent replay returns null) and never stored: the store keeps only its SHA-256 hash."
    )
    user_errors: list[TeamError] = strawberry.field(description=USER_ERRORS)


async def _invite(info: Ctx, data: InviteTeamMemberInput, issued: dict[str, str], w: Writes) -> Outcome:
    email = text.email(data.email)
    if await members.account_by_email(w, email):
        raise reject("ALREADY_MEMBER", f"{email} is already a member", "email")
    inviter = await members.account_by_subject(w, info.context.principal.subject)
    token = secrets.token_urlsafe(32)
    doc = invitations.new_invitation(
        w.tenant.organization_id,
        email,
        stored(data.role),
        token_hash(token),
        str(inviter["_id"]) if inviter else None,
        now(),
    )
    audit = Audit(
        "invitation.sent",
        "Invitation",
        str(doc["_id"]),
        {"email": email, "role": doc["role"], "expiresAt": doc["expires_at"]},
    )
    await seats.invite(w, doc, audit)
    issued["token"] = token
    return Outcome(rows={"invitation": invitations.public(w.tenant.scoped_document(invitations.COLLECTION, doc))})


async def invite_team_member(
    info: Ctx, input: Annotated[InviteTeamMemberInput, strawberry.argument(description="Who to invite.")]
) -> InviteTeamMemberPayload:
    issued: dict[str, str] = {}  # the token exists only in this response, never in a stored one
    outcome = await run_enterprise_mutation(
        info,
        operation="inviteTeamMember",
        permission=PERMISSION,
        input=input,
        perform=partial(_invite, info, input, issued),
    )
    return InviteTeamMemberPayload(
        invitation=outcome.built("invitation", Invitation.from_doc),
        token=issued.get("token"),
        user_errors=typed_errors(outcome.errors, TeamError, TEAM_CODES),
    )


mutation = strawberry.mutation(
    resolver=invite_team_member,
    description="Invite a person by e-mail; the invitation expires after 7 days and holds a seat of the "
    "`seats` quota until it is accepted (the seat becomes the member's), revoked or expired "
    "(`QUOTA_EXCEEDED` when members and open invitations fill the quota). Needs the admin or owner role.",
)
