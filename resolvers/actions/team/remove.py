"""removeMember: delete a member's enterprise account, freeing their seat."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import strawberry

from gateway.core.mongo_mutations import Audit, Writes
from gateway.core.permissions import Permission
from gateway.core.rules import reject
from gateway.core.rules.members import FIELD, check_removal
from gateway.data.brain import users
from gateway.data.enterprise import accounts, seats
from resolvers.actions.common import USER_ERRORS, Ctx, IdempotencyKey, Outcome, typed_errors
from resolvers.actions.enterprise import run_enterprise_mutation
from resolvers.actions.team.common import TEAM_CODES, TeamError
from resolvers.actions.team.members import account, change_of, keep_an_owner
from resolvers.enterprise.types import member_id

PERMISSION = Permission.MANAGE_MEMBERS


@strawberry.input(description="Remove a member's enterprise account from the organization.")
class RemoveMemberInput:
    member_id: strawberry.ID = strawberry.field(description="The member (an `Organization.members` id).")
    idempotency_key: str | None = IdempotencyKey


@strawberry.type(description="Result of removing a member.")
class RemoveMemberPayload:
    removed_member_id: strawberry.ID | None = strawberry.field(description="The id of the member removed.")
    user_errors: list[TeamError] = strawberry.field(description=USER_ERRORS)


async def _remove(info: Ctx, data: RemoveMemberInput, w: Writes) -> Outcome:
    target = await account(w, data.member_id)
    change = await change_of(info.context, w, target)
    check_removal(change)
    # Deleting the enterprise account would not sign them out: the directory places a subject by its Brain
    # account too, so the person would stay with whatever role their identity provider claims.
    subject = target.get("oidc_subject")
    if isinstance(subject, str) and await users.signs_in_as(info.context, subject):
        raise reject("BRAIN_ACCOUNT", "the member also signs in with a Brain account; remove it in Brain first", FIELD)
    await keep_an_owner(w, change, target, None)
    audit = Audit(
        "member.removed", "Member", str(target["_id"]), {"email": target["email"], "roles": target.get("roles") or []}
    )
    if await accounts.remove(w, target, audit) is None:
        raise reject("NOT_FOUND", "the member changed or left meanwhile; read it again", FIELD)
    await seats.release(w, target["_id"])
    return Outcome(rows={"removed": {"id": member_id(target, None)}})


async def remove_member(
    info: Ctx, input: Annotated[RemoveMemberInput, strawberry.argument(description="Who to remove.")]
) -> RemoveMemberPayload:
    outcome = await run_enterprise_mutation(
        info,
        operation="removeMember",
        permission=PERMISSION,
        input=input,
        perform=partial(_remove, info, input),
    )
    removed = outcome.rows.get("removed")
    return RemoveMemberPayload(
        removed_member_id=strawberry.ID(removed["id"]) if removed else None,
        user_errors=typed_errors(outcome.errors, TeamError, TEAM_CODES),
    )


mutation = strawberry.mutation(
    resolver=remove_member,
    description="Remove a member: their enterprise account is deleted, so their next token is refused and their "
    "seat of the `seats` quota is free at once. Needs the admin or owner role; only an owner removes an owner "
    "(`OWNER_REQUIRED`) and the last owner cannot be removed (`LAST_OWNER`). A Brain account with the same "
    "address is not touched; a member who signs in with one (the same subject) is `BRAIN_ACCOUNT`: the "
    "account would keep them in the organization.",
)
