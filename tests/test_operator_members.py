"""Operators manage members and invitations: role changes, removal, resending (MongoDB enterprise store)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient

from gateway.core.mongo_mutations import MARKER_COUNT, Attempt, Audit, Writes, deliver_pending
from gateway.core.rules import Rejected
from gateway.core.rules.members import Change, check_role_change
from gateway.data.ids import to_global_id
from gateway.ops.seed import oid
from gateway.stores.mongo import MongoStore
from tests.conftest import Stores
from tests.support.issuer import TestIssuer
from tests.support.operator import (
    ERRORS,
    ORG,
    ORG_ID,
    Db,
    codes,
    error_code,
    events,
    member_gid,
    mutate,
    raw,
    result,
    seeded_member,
    snapshot,
    unique,
)

ROLE = f"""mutation($input: ChangeMemberRoleInput!) {{ changeMemberRole(input: $input) {{
  member {{ id email enterpriseRoles hasEnterpriseAccount }} {ERRORS} }} }}"""
REMOVE = f"""mutation($input: RemoveMemberInput!) {{ removeMember(input: $input) {{ removedMemberId {ERRORS} }} }}"""
INVITE = f"""mutation($input: InviteTeamMemberInput!) {{ inviteTeamMember(input: $input) {{
  invitation {{ id expiresAt }} token {ERRORS} }} }}"""
RESEND = f"""mutation($input: ResendInvitationInput!) {{ resendInvitation(input: $input) {{
  invitation {{ id status expiresAt }} token {ERRORS} }} }}"""
REVOKE = f"""mutation($input: RevokeInvitationInput!) {{ revokeInvitation(input: $input) {{ {ERRORS} }} }}"""
ACCEPT = f"""mutation($input: AcceptInvitationInput!) {{ acceptInvitation(input: $input) {{
  invitation {{ status }} {ERRORS} }} }}"""


@pytest.fixture
async def db(seeded: Stores) -> AsyncIterator[Db]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(seeded.mongo_url, tz_aware=True)
    yield client[seeded.mongo_db]
    await client.close()


@pytest.fixture
async def account(db: Db) -> AsyncIterator[dict[str, Any]]:
    """A fresh analyst of the organization, gone again after the test (seeded members stay as they are)."""
    name = unique("member")
    doc = {
        "_id": ObjectId(),
        "organization_id": ORG_ID,
        "email": f"{name}@globex.example",
        "name": name,
        "roles": ["analyst"],
        "oidc_subject": f"sub-{name}",
        "status": "active",
        "last_login_at": None,
    }
    await db.users.insert_one(doc)
    yield doc
    await db.users.delete_one({"_id": doc["_id"]})


def admin(issuer: TestIssuer) -> str:
    return issuer.token(ORG, "admin")


def owner(issuer: TestIssuer) -> str:
    return issuer.token(ORG, "owner")


def as_account(issuer: TestIssuer, doc: dict[str, Any], role: str) -> str:
    return issuer.token(ORG, role, sub=doc["oidc_subject"], email=doc["email"])


# --- changeMemberRole ----------------------------------------------------------------------


async def test_change_member_role(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db, account: dict[str, Any]
) -> None:
    key = unique("role")
    body = await mutate(
        client, ROLE, admin(issuer), memberId=member_gid(account["_id"]), role="ADMIN", idempotencyKey=key
    )
    changed = result(body)
    assert changed["userErrors"] == []
    assert changed["member"]["id"] == member_gid(account["_id"]) and changed["member"]["enterpriseRoles"] == ["ADMIN"]
    stored = await db.users.find_one({"_id": account["_id"]})
    assert stored is not None and stored["roles"] == ["admin"] and stored.get(MARKER_COUNT, 0) == 0
    (event,) = await events(db, account["_id"], "member.role_changed")
    assert event["details"]["fromRoles"] == ["analyst"] and event["details"]["toRoles"] == ["admin"]
    # A replay answers the same and changes nothing more.
    again = await mutate(
        client, ROLE, admin(issuer), memberId=member_gid(account["_id"]), role="ADMIN", idempotencyKey=key
    )
    assert again == body
    assert len(await events(db, account["_id"], "member.role_changed")) == 1


async def test_only_an_owner_grants_and_revokes_owner(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db, account: dict[str, Any]
) -> None:
    target = member_gid(account["_id"])
    assert codes(await mutate(client, ROLE, admin(issuer), memberId=target, role="OWNER")) == ["OWNER_REQUIRED"]
    assert result(await mutate(client, ROLE, owner(issuer), memberId=target, role="OWNER"))["userErrors"] == []
    # An admin cannot demote or remove an owner; another owner can.
    assert codes(await mutate(client, ROLE, admin(issuer), memberId=target, role="ANALYST")) == ["OWNER_REQUIRED"]
    assert codes(await mutate(client, REMOVE, admin(issuer), memberId=target)) == ["OWNER_REQUIRED"]
    demoted = result(await mutate(client, ROLE, owner(issuer), memberId=target, role="MEMBER"))
    assert demoted["userErrors"] == [] and demoted["member"]["enterpriseRoles"] == ["MEMBER"]


@pytest.mark.parametrize(
    ("caller", "member", "role", "code"),
    [
        ("owner", seeded_member("owner"), "ADMIN", "LAST_OWNER"),  # the seeded owner is the only one
        ("admin", seeded_member("admin"), "OWNER", "SELF_PROMOTION"),
        ("admin", seeded_member("owner"), "ADMIN", "OWNER_REQUIRED"),
        ("admin", seeded_member("analyst"), "ANALYST", "NOTHING_TO_UPDATE"),
        ("admin", seeded_member("admin", "acme"), "MEMBER", "NOT_FOUND"),  # another organization's
        ("admin", to_global_id("Member", "b:1"), "MEMBER", "NOT_FOUND"),  # no enterprise account
        ("admin", to_global_id("Member", "u:not-an-object-id"), "MEMBER", "INVALID_ID"),
        ("admin", to_global_id("Agent", oid("agent", ORG, 0)), "MEMBER", "INVALID_ID"),
    ],
)
async def test_role_change_rejections_change_nothing(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db, caller: str, member: str, role: str, code: str
) -> None:
    before = await snapshot(db, "users")
    body = await mutate(client, ROLE, issuer.token(ORG, caller), memberId=member, role=role)
    assert codes(body) == [code] and result(body)["member"] is None
    assert await snapshot(db, "users") == before


async def test_a_member_cannot_raise_their_own_role(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db, account: dict[str, Any]
) -> None:
    await db.users.update_one({"_id": account["_id"]}, {"$set": {"roles": ["admin"]}})
    me = as_account(issuer, account, "admin")
    assert codes(await mutate(client, ROLE, me, memberId=member_gid(account["_id"]), role="OWNER")) == [
        "SELF_PROMOTION"
    ]
    # Lowering one's own role is allowed.
    lowered = result(await mutate(client, ROLE, me, memberId=member_gid(account["_id"]), role="ANALYST"))
    assert lowered["userErrors"] == [] and lowered["member"]["enterpriseRoles"] == ["ANALYST"]


@pytest.mark.parametrize("role", ["marketer", "analyst", "viewer"])
async def test_members_are_managed_by_admins_only(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db, account: dict[str, Any], role: str
) -> None:
    before = await snapshot(db, "users")
    target = member_gid(account["_id"])
    assert (
        error_code(await mutate(client, ROLE, issuer.token(ORG, role), memberId=target, role="MEMBER")) == "FORBIDDEN"
    )
    assert error_code(await mutate(client, REMOVE, issuer.token(ORG, role), memberId=target)) == "FORBIDDEN"
    assert await snapshot(db, "users") == before


async def test_partners_cannot_manage_members(
    client: httpx.AsyncClient, issuer: TestIssuer, account: dict[str, Any]
) -> None:
    partner = issuer.token(ORG, "owner", sub="partner-ops", azp="partner-ops", scope="workflows:run actions:write")
    body = await mutate(client, REMOVE, partner, memberId=member_gid(account["_id"]))
    assert error_code(body) == "FORBIDDEN"


# --- removeMember --------------------------------------------------------------------------


async def test_remove_member_frees_the_seat_and_the_login(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db, account: dict[str, Any]
) -> None:
    theirs = issuer.token(ORG, "analyst", sub=account["oidc_subject"], email=account["email"], roles=None)
    assert (
        await client.post(
            "/graphql", json={"query": "{ viewer { kind } }"}, headers={"Authorization": f"Bearer {theirs}"}
        )
    ).status_code == 200
    body = await mutate(client, REMOVE, admin(issuer), memberId=member_gid(account["_id"]))
    assert result(body) == {"removedMemberId": member_gid(account["_id"]), "userErrors": []}
    assert await db.users.find_one({"_id": account["_id"]}) is None
    (event,) = await events(db, account["_id"], "member.removed")
    assert event["details"]["email"] == account["email"]
    # The seat is free at once: the quota's `used` is the members and open invitations now.
    now = dt.datetime.now(dt.UTC)
    quota = await db.usage_quotas.find_one(
        {"organization_id": ORG_ID, "resource": "seats", "period_start": {"$lte": now}}, sort=[("period_start", -1)]
    )
    members = await db.users.count_documents({"organization_id": ORG_ID})
    open_invitations = await db.team_invitations.count_documents(
        {"organization_id": ORG_ID, "status": "pending", "expires_at": {"$gt": now}}
    )
    assert quota is not None and quota["used"] == members + open_invitations
    # Their next token no longer resolves to the organization.
    response = await client.post(
        "/graphql", json={"query": "{ viewer { kind } }"}, headers={"Authorization": f"Bearer {theirs}"}
    )
    assert response.status_code == 403
    again = await mutate(client, REMOVE, admin(issuer), memberId=member_gid(account["_id"]))
    assert codes(again) == ["NOT_FOUND"]


@pytest.mark.parametrize(
    ("caller", "member", "code"),
    [
        ("owner", seeded_member("owner"), "LAST_OWNER"),
        ("admin", seeded_member("owner"), "OWNER_REQUIRED"),
        ("admin", seeded_member("viewer", "acme"), "NOT_FOUND"),
        ("admin", "not a global id", "INVALID_ID"),
    ],
)
async def test_remove_rejections_change_nothing(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db, caller: str, member: str, code: str
) -> None:
    before = await snapshot(db, "users")
    body = await mutate(client, REMOVE, issuer.token(ORG, caller), memberId=member)
    assert codes(body) == [code] and result(body)["removedMemberId"] is None
    assert await snapshot(db, "users") == before


# --- resendInvitation ----------------------------------------------------------------------


async def test_resend_gives_a_new_token_and_kills_the_old(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db
) -> None:
    email = f"{unique('resent')}@globex.example"
    sent = result(await mutate(client, INVITE, admin(issuer), email=email, role="ANALYST"))
    invitation_id = sent["invitation"]["id"]
    # Let the first expiry lie in the past week, so the restarted one is visibly later.
    doc = await db.team_invitations.find_one_and_delete({"_id": raw(invitation_id)})
    assert doc is not None
    await db.team_invitations.insert_one({**doc, "expires_at": doc["expires_at"] - dt.timedelta(days=3)})
    resent = result(await mutate(client, RESEND, admin(issuer), invitationId=invitation_id))
    assert resent["userErrors"] == [] and resent["invitation"]["status"] == "PENDING"
    assert resent["token"] and resent["token"] != sent["token"]
    expires = dt.datetime.fromisoformat(resent["invitation"]["expiresAt"])
    assert expires > dt.datetime.fromisoformat(sent["invitation"]["expiresAt"])
    stored = await db.team_invitations.find_one({"_id": raw(invitation_id)})
    assert stored is not None and stored["token_hash"] == hashlib.sha256(resent["token"].encode()).hexdigest()
    assert len(await events(db, raw(invitation_id), "invitation.resent")) == 1
    # The old token is dead; the new one names the invitation.
    invitee = issuer.token(ORG, "viewer", sub=unique("invitee"), email=email, org=None, roles=None)
    assert codes(await mutate(client, ACCEPT, invitee, token=sent["token"])) == ["NOT_FOUND"]
    assert result(await mutate(client, REVOKE, admin(issuer), invitationId=invitation_id))["userErrors"] == []
    assert codes(await mutate(client, ACCEPT, invitee, token=resent["token"])) == ["NOT_PENDING"]


async def test_resend_rejections_change_nothing(client: httpx.AsyncClient, issuer: TestIssuer, db: Db) -> None:
    sent = result(await mutate(client, INVITE, admin(issuer), email=f"{unique('r')}@globex.example", role="MEMBER"))
    revoked = sent["invitation"]["id"]
    assert result(await mutate(client, REVOKE, admin(issuer), invitationId=revoked))["userErrors"] == []
    expired = result(await mutate(client, INVITE, admin(issuer), email=f"{unique('x')}@globex.example", role="MEMBER"))
    doc = await db.team_invitations.find_one_and_delete({"_id": raw(expired["invitation"]["id"])})
    assert doc is not None
    await db.team_invitations.insert_one({**doc, "expires_at": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)})
    foreign = to_global_id("Invitation", oid("invitation", "acme", 0))
    before = await snapshot(db, "team_invitations")
    for invitation_id, code in [
        (revoked, "NOT_PENDING"),
        (expired["invitation"]["id"], "EXPIRED"),
        (foreign, "NOT_FOUND"),
        (seeded_member("admin"), "INVALID_ID"),
    ]:
        body = await mutate(client, RESEND, admin(issuer), invitationId=invitation_id)
        assert codes(body) == [code] and result(body)["token"] is None, (invitation_id, body)
    body = await mutate(client, RESEND, issuer.token(ORG, "analyst"), invitationId=foreign)
    assert error_code(body) == "FORBIDDEN"
    assert await snapshot(db, "team_invitations") == before


# --- removal half way, and the rules on their own -------------------------------------------


@pytest.fixture
async def store(seeded: Stores) -> AsyncIterator[MongoStore]:
    mongo = MongoStore(seeded.mongo_url, seeded.mongo_db)
    await mongo.open()
    yield mongo
    await mongo.close()


async def test_a_removal_cut_short_is_finished_by_the_sweep(db: Db, store: MongoStore, account: dict[str, Any]) -> None:
    """Without transactions a writer that dies after marking the account leaves it marked, never deleted
    without its event: the sweep delivers the event, then deletes it."""
    tenant = store.tenant(ORG_ID)
    writes = Writes(tenant, Attempt({"kind": "user", "id": "crashed", "email": None}, None), None)
    audit = Audit("member.removed", "Member", str(account["_id"]), {"email": account["email"]})
    assert await writes.delete("users", {"_id": account["_id"]}, audit) is not None
    marked = await db.users.find_one({"_id": account["_id"]})
    assert marked is not None and marked[MARKER_COUNT] == 1  # the writer stops here
    assert await db.audit_logs.find_one({"event_id": writes.attempt.event_id}) is None
    assert await deliver_pending(tenant, older_than_s=0) == 1
    assert await db.users.find_one({"_id": account["_id"]}) is None
    assert await db.audit_logs.count_documents({"event_id": writes.attempt.event_id}) == 1
    assert await deliver_pending(tenant, older_than_s=0) == 0


@pytest.mark.parametrize(
    ("change", "role", "code"),
    [
        (Change(caller_is_owner=True, is_self=True, current=("owner",), other_owners=1), "admin", None),
        (Change(caller_is_owner=True, is_self=True, current=("owner",), other_owners=0), "admin", "LAST_OWNER"),
        (Change(caller_is_owner=False, is_self=True, current=("analyst",), other_owners=0), "admin", "SELF_PROMOTION"),
        (Change(caller_is_owner=True, is_self=True, current=("admin",), other_owners=0), "owner", "SELF_PROMOTION"),
        (Change(caller_is_owner=False, is_self=False, current=("analyst",), other_owners=0), "admin", None),
        (
            Change(caller_is_owner=False, is_self=False, current=("admin", "owner"), other_owners=2),
            "admin",
            "OWNER_REQUIRED",
        ),
    ],
)
def test_role_rules(change: Change, role: str, code: str | None) -> None:
    try:
        check_role_change(change, role)
    except Rejected as rejected:
        assert [e.code for e in rejected.errors] == [code]
    else:
        assert code is None


async def test_a_disabled_owner_is_no_owner_to_fall_back_on(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db, account: dict[str, Any]
) -> None:
    await db.users.update_one({"_id": account["_id"]}, {"$set": {"roles": ["owner"], "status": "disabled"}})
    before = await snapshot(db, "users")
    body = await mutate(client, ROLE, owner(issuer), memberId=seeded_member("owner"), role="ADMIN")
    assert codes(body) == ["LAST_OWNER"]
    assert codes(await mutate(client, REMOVE, owner(issuer), memberId=seeded_member("owner"))) == ["LAST_OWNER"]
    # The disabled owner itself may go: the active one remains.
    assert result(await mutate(client, REMOVE, owner(issuer), memberId=member_gid(account["_id"])))["userErrors"] == []
    assert await snapshot(db, "users") != before


async def test_two_owners_demoting_each_other_leave_an_owner(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db, account: dict[str, Any]
) -> None:
    await db.users.update_one({"_id": account["_id"]}, {"$set": {"roles": ["owner"]}})
    seeded_owner = oid("user", ORG, "owner")
    try:
        for _ in range(3):
            first, second = await asyncio.gather(
                mutate(client, ROLE, owner(issuer), memberId=member_gid(account["_id"]), role="ADMIN"),
                mutate(
                    client, ROLE, as_account(issuer, account, "owner"), memberId=seeded_member("owner"), role="ADMIN"
                ),
            )
            succeeded = [body for body in (first, second) if result(body)["userErrors"] == []]
            assert len(succeeded) <= 1, (first, second)
            owners = await db.users.count_documents({"organization_id": ORG_ID, "roles": "owner"})
            assert owners >= 1
            # Both owners again for the next round.
            await db.users.update_many({"_id": {"$in": [account["_id"], seeded_owner]}}, {"$set": {"roles": ["owner"]}})
    finally:
        await db.users.update_one({"_id": seeded_owner}, {"$set": {"roles": ["owner"]}})
