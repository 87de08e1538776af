"""What the member mutations share: finding the member acted on, the rules' view of a change, the payload."""

from __future__ import annotations

from dataclasses import replace

import strawberry
from bson import ObjectId

from gateway.core.context import RequestContext
from gateway.core.mongo_mutations import Writes
from gateway.core.rules import reject
from gateway.core.rules.members import FIELD, Change, check_last_owner
from gateway.data.enterprise import accounts, members
from gateway.stores.mongo import Document
from resolvers.actions.common import USER_ERRORS, Outcome, parse_id, typed_errors
from resolvers.actions.team.common import TEAM_CODES, TeamError
from resolvers.enterprise.types import Member

NO_ACCOUNT = "no member with an enterprise account has this id in your organization"


@strawberry.type(description="Result of changing a member's role.")
class MemberPayload:
    member: Member | None = strawberry.field(description="The member after the change.")
    user_errors: list[TeamError] = strawberry.field(description=USER_ERRORS)


async def account(w: Writes, member_id: strawberry.ID) -> Document:
    """The enterprise account a Member id names. A Brain-only member has none to manage; another
    organization's account reads as missing, revealing nothing."""
    store, _, key = parse_id(member_id, "Member", FIELD).partition(":")
    if store not in ("u", "b") or not key or (store == "u" and not ObjectId.is_valid(key)):
        raise reject("INVALID_ID", f"{member_id!r} is not a valid Member id", FIELD)
    found = await accounts.find(w, ObjectId(key)) if store == "u" else None
    if found is None:
        raise reject("NOT_FOUND", NO_ACCOUNT, FIELD)
    return found


async def change_of(ctx: RequestContext, w: Writes, target: Document) -> Change:
    principal = ctx.principal
    return Change(
        caller_is_owner=principal.has_role("owner"),
        is_self=target.get("oidc_subject") == principal.subject,
        current=tuple(target.get("roles") or []),
        other_owners=await accounts.other_owners(w, target["_id"]),
    )


async def keep_an_owner(w: Writes, change: Change, target: Document, new_role: str | None) -> None:
    """When the change takes the owner role away, hold the other owners so none of them leaves meanwhile;
    if none is left to hold, the member is the last owner after all."""
    if "owner" in change.current and new_role != "owner":
        held = await accounts.hold_other_owners(w, target["_id"])
        check_last_owner(replace(change, other_owners=held), new_role)


async def member_payload(ctx: RequestContext, outcome: Outcome) -> MemberPayload:
    """The payload, the member completed with their Brain account (looked up now, not stored with the answer)."""
    doc = outcome.rows.get("member")
    row = await members.member(ctx, doc["email"], doc) if doc is not None else None
    return MemberPayload(
        member=Member.from_row(row) if row is not None else None,
        user_errors=typed_errors(outcome.errors, TeamError, TEAM_CODES),
    )
