"""Invitations an invitee can use: invite -> the invitee accepts with their own token -> a member.

Everything here changes organization `initech` only (new invitations, the accounts they
create, its `seats` quota, whose limit each test sets for itself and the fixture restores).
An invitee's token comes from the test issuer: a fresh `sub` that is no member of any
organization, no organization claim and no role claim, as an identity provider issues it
to a person who just signed up.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from gateway.core.mongo_mutations import Attempt, Audit, Writes, deliver_pending_audits
from gateway.data.ids import from_global_id, to_global_id
from gateway.ops.seed import oid
from gateway.stores.mongo import MongoStore
from tests.conftest import Stores, gql
from tests.support.issuer import TestIssuer

ORG = "initech"
ORG_ID = str(oid("org", ORG))
Db = AsyncDatabase[dict[str, Any]]

ERRORS = "userErrors { code field message }"
INVITE = f"""mutation($input: InviteTeamMemberInput!) {{ inviteTeamMember(input: $input) {{
  invitation {{ id email role status }} token {ERRORS} }} }}"""
REVOKE = f"""mutation($input: RevokeInvitationInput!) {{ revokeInvitation(input: $input) {{
  invitation {{ id status }} {ERRORS} }} }}"""
ACCEPT = f"""mutation($input: AcceptInvitationInput!) {{ acceptInvitation(input: $input) {{
  invitation {{ id email role status }} {ERRORS} }} }}"""
VIEWER = "{ viewer { subject kind roles email organization { slug } } }"
MEMBERS = "{ organization { members(first: 100) { edges { node { email enterpriseRoles status } } } } }"
INVITATIONS = """query($status: [InvitationStatus!]) { organization {
  invitations(first: 100, filter: {status: $status}) { edges { node { id status } } } } }"""


@pytest.fixture
async def db(seeded: Stores) -> AsyncIterator[Db]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(seeded.mongo_url, tz_aware=True)
    database = client[seeded.mongo_db]
    quota = await database.usage_quotas.find_one({"organization_id": ORG_ID, "resource": "seats"})
    assert quota is not None
    yield database
    await database.usage_quotas.update_one({"_id": quota["_id"]}, {"$set": {"limit": quota["limit"]}})
    await client.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def admin(issuer: TestIssuer) -> str:
    return issuer.token(ORG, "admin")


def invitee(issuer: TestIssuer, email: str | None, **claims: Any) -> tuple[str, str]:
    """A token of a person who belongs to no organization yet, and its subject."""
    subject = str(uuid.uuid4())
    return issuer.token(ORG, "viewer", sub=subject, email=email, org=None, roles=None, **claims), subject


async def mutate(client: httpx.AsyncClient, document: str, bearer: str, /, **input: Any) -> dict[str, Any]:
    return await gql(client, document, {"input": input}, token=bearer)


def result(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    (value,) = body["data"].values()
    assert isinstance(value, dict)
    return value


def codes(body: dict[str, Any]) -> list[str]:
    return [e["code"] for e in result(body)["userErrors"]]


def forbidden(body: dict[str, Any]) -> bool:
    return bool(body.get("errors")) and all(e["extensions"]["code"] == "FORBIDDEN" for e in body["errors"])


def raw(global_id: str) -> ObjectId:
    return ObjectId(from_global_id(global_id)[1])


async def state(db: Db) -> dict[str, Any]:
    """Everything inviting or accepting could change, in every organization."""
    snapshot: dict[str, Any] = {}
    for collection in ("users", "team_invitations", "idempotency_keys", "audit_logs"):
        snapshot[collection] = await db[collection].count_documents({})
    snapshot["invitations"] = await db.team_invitations.find({}).sort("_id", 1).to_list(None)
    snapshot["seats"] = await db.usage_quotas.find({"resource": "seats"}).sort("_id", 1).to_list(None)
    return snapshot


async def seats_taken(db: Db) -> int:
    now = dt.datetime.now(dt.UTC)
    members = await db.users.count_documents({"organization_id": ORG_ID})
    open_ = await db.team_invitations.count_documents(
        {"organization_id": ORG_ID, "status": "pending", "expires_at": {"$gt": now}}
    )
    return members + open_


async def set_free_seats(db: Db, free: int) -> None:
    await db.usage_quotas.update_one(
        {"organization_id": ORG_ID, "resource": "seats"}, {"$set": {"limit": await seats_taken(db) + free}}
    )


async def invite(client: httpx.AsyncClient, issuer: TestIssuer, db: Db, role: str = "ANALYST") -> dict[str, Any]:
    await set_free_seats(db, 1)
    body = await mutate(client, INVITE, admin(issuer), email=f"{unique('new')}@initech.example", role=role)
    assert codes(body) == [], body
    return result(body)


async def backdate(db: Db, invitation_id: ObjectId) -> None:
    """Let an invitation expire a minute ago (rewritten whole: the stand-in stores a `$set` datetime as text)."""
    doc = await db.team_invitations.find_one_and_delete({"_id": invitation_id})
    assert doc is not None
    await db.team_invitations.insert_one({**doc, "expires_at": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)})


# --- the flow ------------------------------------------------------------------------------


async def test_invite_accept_and_appear_in_members_with_the_role(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db
) -> None:
    created = await invite(client, issuer, db, role="ADMIN")
    email = created["invitation"]["email"]
    token, subject = invitee(issuer, email.upper())

    viewer = (await gql(client, VIEWER, token=token))["data"]["viewer"]
    assert viewer == {"subject": subject, "kind": "INVITEE", "roles": [], "email": email.upper(), "organization": None}
    # Asking for the organization too still answers the viewer: only that field is null, and forbidden.
    both = await gql(client, "{ viewer { kind } organization { name } }", token=token)
    assert both["data"] == {"viewer": {"kind": "INVITEE"}, "organization": None}
    assert [(e["path"], e["extensions"]["code"]) for e in both["errors"]] == [(["organization"], "FORBIDDEN")]

    key = unique("accept")
    body = await mutate(client, ACCEPT, token, token=created["token"], idempotencyKey=key)
    assert codes(body) == []
    assert result(body)["invitation"] == {**created["invitation"], "status": "ACCEPTED"}

    invitation_id = raw(created["invitation"]["id"])
    user = await db.users.find_one({"_id": invitation_id})
    assert user is not None
    assert (user["organization_id"], user["email"], user["roles"], user["oidc_subject"], user["status"]) == (
        ORG_ID,
        email,
        ["admin"],
        subject,
        "active",
    )
    stored = await db.team_invitations.find_one({"_id": invitation_id})
    assert stored is not None and stored["status"] == "accepted" and "pending_key" not in stored
    assert stored["accepted_by"] == {"id": subject, "email": email.upper()}
    (event,) = await db.audit_logs.find({"action": "invitation.accepted", "target.id": str(invitation_id)}).to_list(
        None
    )
    assert event["organization_id"] == ORG_ID and event["actor"]["kind"] == "invitee"
    assert event["details"] == {"email": email, "role": "admin", "userId": str(invitation_id)}
    assert stored["pending_audit_count"] == 0  # the account and the event were delivered

    members = (await gql(client, MEMBERS, token=admin(issuer)))["data"]["organization"]["members"]
    assert {"email": email, "enterpriseRoles": ["ADMIN"], "status": "ACTIVE"} in [e["node"] for e in members["edges"]]

    # The same token now resolves to the organization, with the role of the new account.
    viewer = (await gql(client, VIEWER, token=token))["data"]["viewer"]
    assert viewer["kind"] == "USER" and viewer["roles"] == ["ADMIN"] and viewer["organization"] == {"slug": ORG}

    # A replay of the acceptance returns its first response and changes nothing.
    before = await state(db)
    assert await mutate(client, ACCEPT, token, token=created["token"], idempotencyKey=key) == body
    assert await state(db) == before
    # Without the key, a second acceptance is refused: the caller is a member now, the invitation answered.
    assert codes(await mutate(client, ACCEPT, token, token=created["token"])) == ["NOT_PENDING"]
    assert await state(db) == before


async def test_accept_by_invitation_id_when_the_token_email_matches(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db
) -> None:
    created = await invite(client, issuer, db, role="MEMBER")
    email, invitation_id = created["invitation"]["email"], created["invitation"]["id"]
    before = await state(db)
    for token, _ in (
        invitee(issuer, f"other-{email}"),
        invitee(issuer, None),
        invitee(issuer, email, email_verified=False),
    ):
        body = await mutate(client, ACCEPT, token, invitationId=invitation_id)
        assert codes(body) == ["NOT_FOUND"] and result(body)["userErrors"][0]["field"] == "invitationId"
    assert await state(db) == before

    token, subject = invitee(issuer, f"  {email.title()} ", email_verified=True)
    body = await mutate(client, ACCEPT, token, invitationId=invitation_id)
    assert codes(body) == [] and result(body)["invitation"]["status"] == "ACCEPTED"
    user = await db.users.find_one({"oidc_subject": subject})
    assert user is not None and user["roles"] == ["member"] and user["email"] == email
    # A member's enterprise role `member` is the gateway role `viewer`: reads, no sensitive data.
    viewer = (await gql(client, VIEWER, token=token))["data"]["viewer"]
    assert viewer["roles"] == ["VIEWER"] and viewer["organization"] == {"slug": ORG}


@pytest.mark.parametrize(
    ("token", "code"),
    [
        ("invite:initech:4", "EXPIRED"),  # seeded: pending, but past its expiry
        ("invite:initech:3", "EXPIRED"),  # seeded: status expired
        ("invite:initech:1", "NOT_PENDING"),  # seeded: accepted
        ("invite:initech:2", "NOT_PENDING"),  # seeded: revoked
        ("no-such-token", "NOT_FOUND"),
        ("x" * 500, "NOT_FOUND"),
        ("", "NOT_FOUND"),
    ],
)
async def test_accept_rejections_change_nothing(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db, token: str, code: str
) -> None:
    before = await state(db)
    bearer, _ = invitee(issuer, f"{unique('someone')}@initech.example")
    body = await mutate(client, ACCEPT, bearer, token=token, idempotencyKey=unique("k"))
    assert codes(body) == [code] and result(body)["userErrors"][0]["field"] == "token"
    assert result(body)["invitation"] is None
    after = await state(db)
    if code != "NOT_FOUND":  # a refusal inside the organization keeps its key, to replay it
        after["idempotency_keys"] -= 1
    assert after == before


async def test_exactly_one_of_token_and_invitation_id(client: httpx.AsyncClient, issuer: TestIssuer, db: Db) -> None:
    bearer, _ = invitee(issuer, "x@initech.example")
    before = await state(db)
    both = await mutate(client, ACCEPT, bearer, token="t", invitationId=to_global_id("Invitation", ObjectId()))
    assert codes(both) == ["INVALID_INPUT"] and codes(await mutate(client, ACCEPT, bearer)) == ["INVALID_INPUT"]
    assert await state(db) == before


async def test_an_address_with_an_account_elsewhere_cannot_join(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db
) -> None:
    await set_free_seats(db, 1)
    body = await mutate(client, INVITE, admin(issuer), email="Analyst1@Globex.example", role="ANALYST")
    created = result(body)
    assert codes(body) == []  # inviting does not reveal that the address has an account somewhere
    token, _ = invitee(issuer, "analyst1@globex.example")
    before = await state(db)
    assert codes(await mutate(client, ACCEPT, token, token=created["token"])) == ["EMAIL_IN_USE"]
    assert await state(db) == before


async def test_members_and_partners_do_not_join_another_organization(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db
) -> None:
    created = await invite(client, issuer, db)
    partner = issuer.token(ORG, "owner", sub="partner-initech", azp="partner-initech", scope="actions:write")
    before = await state(db)
    for member in (issuer.token("globex", "viewer"), issuer.token(ORG, "analyst")):
        assert codes(await mutate(client, ACCEPT, member, token=created["token"])) == ["ALREADY_MEMBER"]
    assert forbidden(await mutate(client, ACCEPT, partner, token=created["token"]))
    assert await state(db) == before


# --- expiry --------------------------------------------------------------------------------


async def test_an_expired_invitation_reads_expired_and_cannot_be_accepted(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db
) -> None:
    created = await invite(client, issuer, db)
    invitation_id = created["invitation"]["id"]
    await backdate(db, raw(invitation_id))

    async def listed(status: list[str] | None) -> list[dict[str, Any]]:
        data = (await gql(client, INVITATIONS, {"status": status}, token=admin(issuer)))["data"]
        return [e["node"] for e in data["organization"]["invitations"]["edges"]]

    assert {"id": invitation_id, "status": "EXPIRED"} in await listed(None)
    assert {"id": invitation_id, "status": "EXPIRED"} in await listed(["EXPIRED"])
    assert invitation_id not in [i["id"] for i in await listed(["PENDING"])]
    assert invitation_id in [i["id"] for i in await listed(["PENDING", "EXPIRED"])]
    node = await gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Invitation { status } } }",
        {"id": invitation_id},
        token=admin(issuer),
    )
    assert node["data"]["node"] == {"status": "EXPIRED"}

    token, _ = invitee(issuer, created["invitation"]["email"])
    before = await state(db)
    assert codes(await mutate(client, ACCEPT, token, token=created["token"])) == ["EXPIRED"]
    assert codes(await mutate(client, ACCEPT, token, invitationId=invitation_id)) == ["EXPIRED"]
    assert await state(db) == before


# --- seats ---------------------------------------------------------------------------------


async def test_inviting_beyond_the_seats_quota_is_refused(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db
) -> None:
    await set_free_seats(db, 0)
    before = await state(db)
    body = await mutate(client, INVITE, admin(issuer), email=f"{unique('full')}@initech.example", role="MEMBER")
    assert codes(body) == ["QUOTA_EXCEEDED"] and result(body)["token"] is None
    assert await state(db) == before

    # Revoking an open invitation frees its seat.
    await set_free_seats(db, 1)
    created = result(await mutate(client, INVITE, admin(issuer), email=f"{unique('a')}@initech.example", role="MEMBER"))
    assert codes(
        await mutate(client, INVITE, admin(issuer), email=f"{unique('b')}@initech.example", role="MEMBER")
    ) == ["QUOTA_EXCEEDED"]
    assert codes(await mutate(client, REVOKE, admin(issuer), invitationId=created["invitation"]["id"])) == []
    assert (
        codes(await mutate(client, INVITE, admin(issuer), email=f"{unique('c')}@initech.example", role="MEMBER")) == []
    )


async def test_concurrent_invitations_never_exceed_the_seats(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db
) -> None:
    await set_free_seats(db, 3)
    taken = await seats_taken(db)
    bodies = await asyncio.gather(
        *(
            mutate(client, INVITE, admin(issuer), email=f"{unique('seat')}@initech.example", role="MEMBER")
            for _ in range(10)
        )
    )
    outcomes = sorted(tuple(codes(b)) for b in bodies)
    # A loser of the race counts again; each loss means another invitation took a seat, so none runs out of tries.
    assert outcomes.count(()) == 3 and all(o in ((), ("QUOTA_EXCEEDED",)) for o in outcomes), outcomes
    assert await seats_taken(db) == taken + 3
    quota = await db.usage_quotas.find_one({"organization_id": ORG_ID, "resource": "seats"})
    assert quota is not None and quota["used"] <= quota["limit"] and quota["pending_audit_count"] == 0


async def test_accepting_keeps_the_seat(client: httpx.AsyncClient, issuer: TestIssuer, db: Db) -> None:
    created = await invite(client, issuer, db)  # the last free seat
    taken = await seats_taken(db)
    token, _ = invitee(issuer, created["invitation"]["email"])
    assert codes(await mutate(client, ACCEPT, token, token=created["token"])) == []
    assert await seats_taken(db) == taken  # the invitation's seat became the member's
    body = await mutate(client, INVITE, admin(issuer), email=f"{unique('more')}@initech.example", role="MEMBER")
    assert codes(body) == ["QUOTA_EXCEEDED"]


# --- concurrency ---------------------------------------------------------------------------


async def test_two_acceptances_of_one_invitation_one_wins(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db
) -> None:
    created = await invite(client, issuer, db)
    tokens = [invitee(issuer, None) for _ in range(6)]
    bodies = await asyncio.gather(*(mutate(client, ACCEPT, t, token=created["token"]) for t, _ in tokens))
    outcomes = [codes(b) for b in bodies]
    # A loser reads either the answered invitation or, when the winner's account is already there, its address.
    assert outcomes.count([]) == 1 and all(o in ([], ["NOT_PENDING"], ["ALREADY_MEMBER"]) for o in outcomes), outcomes
    winner = tokens[outcomes.index([])][1]
    invitation_id = raw(created["invitation"]["id"])
    assert await db.users.count_documents({"email": created["invitation"]["email"]}) == 1
    user = await db.users.find_one({"_id": invitation_id})
    assert user is not None and user["oidc_subject"] == winner
    assert await db.audit_logs.count_documents({"action": "invitation.accepted", "target.id": str(invitation_id)}) == 1


async def test_a_replayed_key_returns_the_first_acceptance_even_when_concurrent(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db
) -> None:
    created = await invite(client, issuer, db)
    token, _ = invitee(issuer, created["invitation"]["email"])
    key = unique("same")
    bodies = await asyncio.gather(
        *(mutate(client, ACCEPT, token, token=created["token"], idempotencyKey=key) for _ in range(4))
    )
    assert all(b == bodies[0] for b in bodies) and codes(bodies[0]) == []
    assert await db.users.count_documents({"email": created["invitation"]["email"]}) == 1


async def test_a_crash_between_the_acceptance_and_the_account_is_finished_by_the_sweep(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db, seeded: Stores
) -> None:
    """Without transactions the account travels on the accepted invitation; a writer dying there loses nothing."""
    created = await invite(client, issuer, db)
    invitation_id = raw(created["invitation"]["id"])
    subject = str(uuid.uuid4())
    store = MongoStore(seeded.mongo_url, seeded.mongo_db)
    await store.open()
    try:
        account = {
            "_id": invitation_id,
            "email": created["invitation"]["email"],
            "name": None,
            "roles": ["analyst"],
            "oidc_subject": subject,
            "status": "active",
            "invitation_id": str(invitation_id),
        }
        writes = Writes(store.tenant(ORG_ID), Attempt({"kind": "invitee", "id": subject, "email": None}, "dies"), None)
        changed = await writes.update(
            "team_invitations",
            {"_id": invitation_id, "status": "pending"},
            {"$set": {"status": "accepted", "user_id": str(invitation_id)}, "$unset": {"pending_key": ""}},
            Audit("invitation.accepted", "Invitation", str(invitation_id), {}),
            also_insert=("users", account),
        )
        assert changed is not None  # ... and the writer dies before `finish`
        assert await db.users.find_one({"_id": invitation_id}) is None

        # Meanwhile the seat stays the joining member's: it is not handed to a new invitation.
        await set_free_seats(db, 1)  # one free by a naive count, which misses the account in flight
        body = await mutate(client, INVITE, admin(issuer), email=f"{unique('gap')}@initech.example", role="MEMBER")
        assert codes(body) == ["QUOTA_EXCEEDED"]

        assert await deliver_pending_audits(store, older_than_s=0) >= 1
        user = await db.users.find_one({"_id": invitation_id})
        assert user is not None and user["organization_id"] == ORG_ID and user["oidc_subject"] == subject
        events = await db.audit_logs.count_documents({"action": "invitation.accepted", "target.id": str(invitation_id)})
        assert events == 1
        await deliver_pending_audits(store, older_than_s=0)  # finishing twice changes nothing
        assert len(await db.users.find({"email": created["invitation"]["email"]}).to_list(None)) == 1
        assert (
            await db.audit_logs.count_documents({"target.id": str(invitation_id), "action": "invitation.accepted"}) == 1
        )
    finally:
        await store.close()
    # The person's token now resolves to the organization with the invited role.
    token = issuer.token(ORG, "viewer", sub=subject, org=None, roles=None)
    viewer = (await gql(client, VIEWER, token=token))["data"]["viewer"]
    assert viewer["kind"] == "USER" and viewer["roles"] == ["ANALYST"] and viewer["organization"] == {"slug": ORG}


# --- what an invitee may do ----------------------------------------------------------------

CAMPAIGN = "{ organization { campaigns(first: 1) { totalCount } } }"
EVERYTHING_ELSE = [
    "{ organization { name } }",
    "{ organization { members(first: 1) { totalCount } } }",
    "{ organization { invitations(first: 1) { totalCount } } }",
    CAMPAIGN,
    'mutation { inviteTeamMember(input: {email: "x@initech.example", role: ADMIN}) { token } }',
    'mutation { createWorkflow(input: {name: "x", steps: []}) { workflow { id } } }',
    "mutation { startSyncJob(input: {platform: META}) { syncJob { id } } }",
]


async def test_an_invitee_reads_nothing_and_changes_nothing_else(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db
) -> None:
    token, _ = invitee(issuer, "curious@initech.example")
    before = await state(db)
    for document in EVERYTHING_ELSE:
        body = await gql(client, document, token=token)
        assert forbidden(body) and not any((body.get("data") or {}).values()), (document, body)
    org_id = to_global_id("Organization", ORG_ID)
    campaign_id = to_global_id("Invitation", oid("invitation", ORG, 0))
    for node_id in (org_id, campaign_id):
        body = await gql(client, "query($id: ID!) { node(id: $id) { id } }", {"id": node_id}, token=token)
        assert (body.get("data") or {}).get("node") is None
    assert await state(db) == before


async def test_a_stranger_naming_an_organization_is_still_refused(
    client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    token = issuer.token(ORG, "owner", sub=str(uuid.uuid4()))
    response = await client.post("/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


async def test_seeded_seats_are_the_subscription_and_count_members_and_open_invitations(db: Db) -> None:
    for slug in ("acme", "globex", "initech"):
        org_id = str(oid("org", slug))
        quota = await db.usage_quotas.find_one({"organization_id": org_id, "resource": "seats"})
        subscription = await db.subscriptions.find_one({"organization_id": org_id, "status": "active"})
        assert quota is not None and subscription is not None and quota["limit"] == subscription["seats"]
    # acme is only read by the tests: its counter is still the seeded one.
    acme = str(oid("org", "acme"))
    quota = await db.usage_quotas.find_one({"organization_id": acme, "resource": "seats"})
    members = await db.users.count_documents({"organization_id": acme})
    open_ = await db.team_invitations.count_documents(
        {"organization_id": acme, "status": "pending", "expires_at": {"$gt": dt.datetime.now(dt.UTC)}}
    )
    assert quota is not None and quota["used"] == members + open_ == 14
