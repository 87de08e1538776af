"""changeMemberRole: give a member of the organization another enterprise role."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import strawberry

from gateway.core.mongo_mutations import Audit, Writes
from gateway.core.permissions import Permission
from gateway.core.rules import reject
from gateway.core.rules.members import FIELD, check_role_change
from gateway.data.enterprise import accounts
from resolvers.actions.common import Ctx, IdempotencyKey, Outcome
from resolvers.actions.enterprise import run_enterprise_mutation
from resolvers.actions.team.members import MemberPayload, account, change_of, keep_an_owner, member_payload
from resolvers.common.enums import stored
from resolvers.enterprise.enums import EnterpriseRole

PERMISSION = Permission.MANAGE_MEMBERS


@strawberry.input(description="Give a member another enterprise role; it replaces the roles they hold.")
class ChangeMemberRoleInput:
    member_id: strawberry.ID = strawberry.field(description="The member (an `Organization.members` id).")
    role: EnterpriseRole = strawberry.field(description="The member's role from now on.")
    idempotency_key: str | None = IdempotencyKey


async def _change(info: Ctx, data: ChangeMemberRoleInput, w: Writes) -> Outcome:
    target = await account(w, data.member_id)
    role = stored(data.role)
    change = await change_of(info.context, w, target)
    check_role_change(change, role)
    await keep_an_owner(w, change, target, role)
    audit = Audit(
        "member.role_changed",
        "Member",
        str(target["_id"]),
        {"email": target["email"], "fromRoles": target.get("roles") or [], "toRoles": [role]},
    )
    updated = await accounts.set_roles(w, target, [role], info.context.principal.subject, audit)
    if updated is None:
        raise reject("NOT_FOUND", "the member changed or left meanwhile; read it again", FIELD)
    return Outcome(rows={"member": updated})


async def change_member_role(
    info: Ctx, input: Annotated[ChangeMemberRoleInput, strawberry.argument(description="Whose role, and which.")]
) -> MemberPayload:
    outcome = await run_enterprise_mutation(
        info,
        operation="changeMemberRole",
        permission=PERMISSION,
        input=input,
        perform=partial(_change, info, input),
    )
    return await member_payload(info.context, outcome)


mutation = strawberry.mutation(
    resolver=change_member_role,
    description="Change a member's enterprise role. Needs the admin or owner role; only an owner grants the "
    "owner role or demotes an owner (`OWNER_REQUIRED`), nobody raises their own role (`SELF_PROMOTION`), and "
    "the last owner cannot be demoted (`LAST_OWNER`). Applies to tokens without a role claim (the account's "
    "role is used); a role claim from the identity provider still wins.",
)
