"""acceptInvitation: an invitee joins the invitation's organization."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import strawberry
from bson import ObjectId

from gateway.core.context import RequestContext
from gateway.core.mongo_mutations import Audit, Writes, now
from gateway.core.permissions import Permission
from gateway.core.rules import Rejected, reject
from gateway.core.rules.invitations import (
    ENTERPRISE_ROLES,
    MAX_TOKEN,
    acceptance_error,
    addressed_to,
    check_address_free,
    check_no_account,
    token_hash,
)
from gateway.data.enterprise import invitations, members
from gateway.errors import Forbidden
from gateway.stores.mongo import Document
from resolvers.actions.common import Ctx, IdempotencyKey, Outcome, parse_object_id, typed_errors
from resolvers.actions.enterprise import run_enterprise_mutation
from resolvers.actions.team.common import TEAM_CODES, InvitationPayload, TeamError, invitation_payload

PERMISSION = Permission.ACCEPT_INVITATION


@strawberry.input(
    description="Accept an invitation, naming it by exactly one of `token` (the secret sent to the invitee) "
    "or `invitationId` (then the e-mail claim of your bearer token must be the invited address)."
)
class AcceptInvitationInput:
    token: str | None = strawberry.field(
        default=None, description="The invitation's secret token, as returned by `inviteTeamMember`."
    )
    invitation_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The invitation; accepted only when your token's `email` claim matches the invited address "
        "(without regard to case) and is not marked unverified (`email_verified: false`).",
    )
    idempotency_key: str | None = IdempotencyKey


def _field(data: AcceptInvitationInput) -> str:
    return "token" if data.token is not None else "invitationId"


async def _locate(ctx: RequestContext, data: AcceptInvitationInput) -> Document:
    """The invitation the caller names, in whichever organization it is: the organization comes from it."""
    store = ctx.services.mongo
    if (data.token is None) == (data.invitation_id is None):
        raise reject("INVALID_INPUT", "give exactly one of token and invitationId", None)
    if data.token is not None:
        token = data.token.strip()
        found = None
        if token and len(token) <= MAX_TOKEN:
            found = await invitations.locate(store, token_hash=token_hash(token))
        if found is None:
            raise reject("NOT_FOUND", "no invitation has this token", "token")
        return found
    assert data.invitation_id is not None
    invitation_id = parse_object_id(data.invitation_id, "Invitation", "invitationId")
    found = await invitations.locate(store, invitation_id=invitation_id)
    principal = ctx.principal
    # Someone else's invitation reads as missing: ids do not reveal which invitations exist.
    if found is None or not addressed_to(principal.email, principal.email_verified, found["email"]):
        raise reject("NOT_FOUND", "no invitation addressed to your e-mail address has this id", "invitationId")
    return found


async def _accept(info: Ctx, data: AcceptInvitationInput, invitation_id: ObjectId, w: Writes) -> Outcome:
    principal = info.context.principal
    organization_id = w.tenant.organization_id
    field = _field(data)
    current = await invitations.find(w, invitation_id)
    if current is None:
        raise reject("NOT_FOUND", "no such invitation", field)
    moment = now()
    error = acceptance_error(current["status"], current["expires_at"], moment, field)
    if error is not None:
        raise error
    # A member elsewhere (also a Brain-only one, whom MongoDB does not know) cannot join a second organization.
    member_of = principal.organization.enterprise_id
    has_account = await members.organization_of_subject(w, principal.subject) is not None
    check_no_account(principal.kind, member_of, organization_id, has_account, field)
    check_address_free(
        await members.organization_of_email(w, current["email"]), organization_id, current["email"], field
    )
    account = members.new_account(current, principal.subject, ENTERPRISE_ROLES[current["role"]], moment)
    audit = Audit(
        "invitation.accepted",
        "Invitation",
        str(current["_id"]),
        {"email": current["email"], "role": current["role"], "userId": str(account["_id"])},
    )
    accepted_by = {"id": principal.subject, "email": principal.email}
    updated = await invitations.accept(w, current, account, accepted_by, moment, audit)
    if updated is None:
        # Answered between our read and our write: say what it is now.
        again = await invitations.find(w, current["_id"])
        raise (acceptance_error(again["status"], again["expires_at"], moment, field) if again else None) or reject(
            "NOT_PENDING", "no longer pending", field
        )
    return Outcome(rows={"invitation": invitations.public(updated)})


async def accept_invitation(
    info: Ctx, input: Annotated[AcceptInvitationInput, strawberry.argument(description="Which invitation.")]
) -> InvitationPayload:
    ctx = info.context
    if ctx.principal.kind == "partner":
        raise Forbidden("only people accept invitations")
    ctx.require(PERMISSION)
    try:
        invitation = await _locate(ctx, input)
        organization_id = str(invitation["organization_id"])
        check_no_account(
            ctx.principal.kind, ctx.principal.organization.enterprise_id, organization_id, False, _field(input)
        )
    except Rejected as rejected:
        # No organization to keep an idempotency key in, or not the caller's to write in (a member
        # of another organization, holding this one's invitation token): answer directly.
        return InvitationPayload(invitation=None, user_errors=typed_errors(rejected.errors, TeamError, TEAM_CODES))
    outcome = await run_enterprise_mutation(
        info,
        operation="acceptInvitation",
        permission=PERMISSION,
        input=input,
        perform=partial(_accept, info, input, invitation["_id"]),
        tenant=ctx.services.mongo.tenant(organization_id),
    )
    return invitation_payload(outcome)


mutation = strawberry.mutation(
    resolver=accept_invitation,
    description="Join the invitation's organization: creates your enterprise account with the invited role, "
    "linked to your token's subject, so your next token resolves to that organization. For people who are "
    "not a member of any organization yet; an invitation is accepted once. The idempotency key is kept in "
    "the invitation's organization.",
)
