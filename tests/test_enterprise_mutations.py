"""Enterprise mutations: invitations and workflows in MongoDB, with idempotency keys, quotas and audit events.

Everything here changes organization `globex` only: new invitations (addresses
`@globex.example`), new workflows, their runs and schedules. The one seeded
document changed is globex's `workflow_runs` quota, restored by the test that
exhausts it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import uuid
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import strawberry
from bson import ObjectId
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from gateway.core.auth import NO_ORGANIZATION, Principal
from gateway.core.idempotency import principal_key, request_hash
from gateway.core.mongo_idempotency import MongoMutation
from gateway.core.mongo_mutations import (
    LEASE_S,
    MARKER,
    MARKER_COUNT,
    Attempt,
    Audit,
    Pending,
    Writes,
    deliver_pending_audits,
    dumps,
)
from gateway.data.ids import from_global_id, to_global_id
from gateway.ops.seed import oid, seed_subject
from gateway.stores.mongo import MongoStore
from gateway.stores.mongo_scope import UnscopedQuery
from resolvers.actions.common import input_arguments
from resolvers.actions.workflows.common import WorkflowStepInput
from resolvers.actions.workflows.create import CreateWorkflowInput
from resolvers.schema import schema
from tests.conftest import Stores, gql
from tests.support.issuer import TestIssuer

ORG = "globex"
ORG_ID = str(oid("org", ORG))
Db = AsyncDatabase[dict[str, Any]]

ERRORS = "userErrors { code field message }"
INVITE = f"""mutation($input: InviteTeamMemberInput!) {{ inviteTeamMember(input: $input) {{
  invitation {{ id email role status expiresAt invitedBy {{ email }} }} token {ERRORS} }} }}"""
REVOKE = f"""mutation($input: RevokeInvitationInput!) {{ revokeInvitation(input: $input) {{
  invitation {{ id email status }} {ERRORS} }} }}"""
ACCEPT = f"""mutation($input: AcceptInvitationInput!) {{ acceptInvitation(input: $input) {{
  invitation {{ id email status }} {ERRORS} }} }}"""
CREATE = f"""mutation($input: CreateWorkflowInput!) {{ createWorkflow(input: $input) {{
  workflow {{ id name description version status steps {{ action params agent {{ id }} }} }} {ERRORS} }} }}"""
UPDATE = f"""mutation($input: UpdateWorkflowInput!) {{ updateWorkflow(input: $input) {{
  workflow {{ id name description version status steps {{ action }} }} {ERRORS} }} }}"""
RUN = f"""mutation($input: RunWorkflowInput!) {{ runWorkflow(input: $input) {{
  execution {{ id status input triggeredBy workflow {{ id }} }} quota {{ used limit remaining }} {ERRORS} }} }}"""
SCHEDULE = f"""mutation($input: SetWorkflowScheduleInput!) {{ setWorkflowSchedule(input: $input) {{
  schedule {{ id cron timezone enabled nextRunAt workflow {{ id }} }} {ERRORS} }} }}"""

MY_ACTIONS = [
    "invitation.sent",
    "invitation.revoked",
    "invitation.accepted",
    "workflow.created",
    "workflow.updated",
    "workflow.run",
    "workflow.schedule_set",
]
TRACKED = [
    "team_invitations",
    "agentkit_workflows",
    "agentkit_executions",
    "scheduled_workflows",
    "idempotency_keys",
    "users",
]


@pytest.fixture
async def db(seeded: Stores) -> AsyncIterator[Db]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(seeded.mongo_url, tz_aware=True)
    yield client[seeded.mongo_db]
    await client.close()


def agent(i: int, org: str = ORG) -> str:
    return to_global_id("Agent", oid("agent", org, i))


def seeded_workflow(w: int, org: str = ORG) -> str:
    """Seeded workflows: 0-4 active, 5-6 draft, 7 archived."""
    return to_global_id("Workflow", oid("workflow", org, w))


def raw(global_id: str) -> ObjectId:
    return ObjectId(from_global_id(global_id)[1])


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def admin(issuer: TestIssuer) -> str:
    return issuer.token(ORG, "admin")


def admin_key(issuer: TestIssuer, key: str) -> str:
    """The `_id` of the admin's idempotency key: organization, principal (issuer and subject), key."""
    principal = principal_key(Principal(seed_subject(ORG, "admin"), issuer.url, "user", NO_ORGANIZATION))
    return f"{ORG_ID}:{principal}:{key}"


async def mutate(client: httpx.AsyncClient, document: str, bearer: str, /, **input: Any) -> dict[str, Any]:
    return await gql(client, document, {"input": input}, token=bearer)


def result(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    (value,) = body["data"].values()
    assert isinstance(value, dict)
    return value


def codes(body: dict[str, Any]) -> list[str]:
    return [e["code"] for e in result(body)["userErrors"]]


def error_code(body: dict[str, Any]) -> str:
    assert body["data"] is None, body
    code: str = body["errors"][0]["extensions"]["code"]
    return code


async def state(db: Db) -> dict[str, Any]:
    """Everything an enterprise mutation of globex could change, to prove that a rejection changed nothing."""
    snapshot: dict[str, Any] = {c: await db[c].count_documents({"organization_id": ORG_ID}) for c in TRACKED}
    snapshot["audit"] = await db.audit_logs.count_documents({"organization_id": ORG_ID, "action": {"$in": MY_ACTIONS}})
    snapshot["quota"] = await db.usage_quotas.find_one({"organization_id": ORG_ID, "resource": "workflow_runs"})
    snapshot["seats"] = await db.usage_quotas.find_one({"organization_id": ORG_ID, "resource": "seats"})
    snapshot["workflows"] = await db.agentkit_workflows.find({"organization_id": ORG_ID}).sort("_id", 1).to_list(None)
    snapshot["invitations"] = await db.team_invitations.find({"organization_id": ORG_ID}).sort("_id", 1).to_list(None)
    return snapshot


async def audit_events(db: Db, target_id: str, action: str | None = None) -> list[dict[str, Any]]:
    query: dict[str, Any] = {"organization_id": ORG_ID, "target.id": target_id}
    if action:
        query["action"] = action
    return await db.audit_logs.find(query).to_list(None)


async def backdate(db: Db, invitation_id: ObjectId) -> None:
    """Let an invitation expire a minute ago.

    Rewritten whole: nx-27017 would store a datetime given to `$set` as a string.
    """
    doc = await db.team_invitations.find_one_and_delete({"_id": invitation_id})
    assert doc is not None
    await db.team_invitations.insert_one({**doc, "expires_at": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)})


async def new_workflow(client: httpx.AsyncClient, issuer: TestIssuer, *, active: bool = False) -> dict[str, Any]:
    body = await mutate(
        client,
        CREATE,
        admin(issuer),
        name=unique("Workflow"),
        description="made by a test",
        steps=[{"agentId": agent(0), "action": "analyze", "params": {"lookback_days": 7}}],
    )
    workflow = result(body)["workflow"]
    if active:
        body = await mutate(
            client, UPDATE, admin(issuer), workflowId=workflow["id"], expectedVersion=1, status="ACTIVE"
        )
        workflow = result(body)["workflow"]
    assert isinstance(workflow, dict)
    return workflow


async def invite(client: httpx.AsyncClient, issuer: TestIssuer, **extra: Any) -> dict[str, Any]:
    body = await mutate(client, INVITE, admin(issuer), email=f"{unique('new')}@globex.example", role="ANALYST", **extra)
    assert result(body)["userErrors"] == [], body
    return result(body)


# --- invitations ---------------------------------------------------------------------------


async def test_invite_returns_the_token_once_and_stores_only_its_hash(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db
) -> None:
    email = f"{unique('Mixed.Case')}@GLOBEX.example"
    body = await mutate(client, INVITE, admin(issuer), email=f"  {email} ", role="ADMIN", idempotencyKey=unique("k"))
    payload = result(body)
    invitation, token = payload["invitation"], payload["token"]
    assert payload["userErrors"] == [] and len(token) >= 40
    assert invitation["email"] == email.lower() and invitation["role"] == "ADMIN"
    assert invitation["status"] == "PENDING" and invitation["invitedBy"]["email"] == "admin@globex.example"
    expires = dt.datetime.fromisoformat(invitation["expiresAt"])
    assert dt.timedelta(days=6, hours=23) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(days=7)

    doc = await db.team_invitations.find_one({"_id": raw(invitation["id"])})
    assert doc is not None and doc["organization_id"] == ORG_ID
    assert doc["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    # The token itself is nowhere: not on the invitation, its audit event or the stored response.
    stored = [doc, *await audit_events(db, str(doc["_id"])), *await db.idempotency_keys.find({}).to_list(None)]
    assert token not in dumps(stored)
    (event,) = await audit_events(db, str(doc["_id"]), "invitation.sent")
    assert event["actor"] == {"kind": "user", "id": issuer.claims(ORG, "admin")["sub"], "email": "admin@globex.example"}
    assert event["target"] == {"type": "Invitation", "id": str(doc["_id"])} and event["request_id"]
    assert event["details"]["email"] == email.lower()
    # The invitation travelled on the seats quota it took a seat of; delivered, the marker is gone.
    quota = await db.usage_quotas.find_one({"organization_id": ORG_ID, "resource": "seats"})
    assert quota is not None and quota[MARKER] == {} and quota[MARKER_COUNT] == 0


async def test_accept_an_invitation_that_expired_after_it_was_sent(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db
) -> None:
    created = await invite(client, issuer)
    await backdate(db, raw(created["invitation"]["id"]))
    before = await state(db)
    assert codes(await mutate(client, ACCEPT, admin(issuer), token=created["token"])) == ["EXPIRED"]
    assert await state(db) == before
    # The address it guarded can be invited again: the stale invitation is retired as expired.
    body = await mutate(client, INVITE, admin(issuer), email=created["invitation"]["email"], role="MEMBER")
    assert result(body)["userErrors"] == []
    old = await db.team_invitations.find_one({"_id": raw(created["invitation"]["id"])})
    assert old is not None and old["status"] == "expired"


async def test_revoke_only_pending_invitations(client: httpx.AsyncClient, issuer: TestIssuer, db: Db) -> None:
    created = await invite(client, issuer)
    invitation_id = created["invitation"]["id"]
    body = await mutate(client, REVOKE, admin(issuer), invitationId=invitation_id)
    assert result(body)["userErrors"] == []
    assert result(body)["invitation"] == {
        "id": invitation_id,
        "email": created["invitation"]["email"],
        "status": "REVOKED",
    }
    assert len(await audit_events(db, str(raw(invitation_id)), "invitation.revoked")) == 1
    before = await state(db)
    assert codes(await mutate(client, REVOKE, admin(issuer), invitationId=invitation_id)) == ["NOT_PENDING"]
    assert codes(await mutate(client, ACCEPT, admin(issuer), token=created["token"])) == ["NOT_PENDING"]
    assert await state(db) == before
    # Revoking freed the address.
    body = await mutate(client, INVITE, admin(issuer), email=created["invitation"]["email"], role="MEMBER")
    assert result(body)["userErrors"] == []


@pytest.mark.parametrize(
    ("invitation_id", "code"),
    [
        (to_global_id("Invitation", oid("invitation", "acme", 0)), "NOT_FOUND"),
        (to_global_id("Invitation", ObjectId("0" * 24)), "NOT_FOUND"),
        (to_global_id("Invitation", "not-an-object-id"), "INVALID_ID"),
        (to_global_id("Workflow", oid("workflow", ORG, 0)), "INVALID_ID"),
        ("%%%", "INVALID_ID"),
    ],
)
async def test_revoke_rejections_change_nothing(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db, invitation_id: str, code: str
) -> None:
    acme = await db.team_invitations.find_one({"_id": oid("invitation", "acme", 0)})
    before = await state(db)
    body = await mutate(client, REVOKE, admin(issuer), invitationId=invitation_id)
    assert codes(body) == [code]
    assert await state(db) == before
    assert await db.team_invitations.find_one({"_id": oid("invitation", "acme", 0)}) == acme


@pytest.mark.parametrize(
    ("email", "code"),
    [
        ("not-an-address", "INVALID_EMAIL"),
        ("two@@globex.example", "INVALID_EMAIL"),
        ("spaces in@globex.example", "INVALID_EMAIL"),
        (f"{'x' * 250}@globex.example", "INVALID_EMAIL"),
        ("Owner@Globex.example", "ALREADY_MEMBER"),
        ("invitee0@globex.example", "INVITATION_PENDING"),  # seeded, pending and not expired
    ],
)
async def test_invite_rejections_change_nothing(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db, email: str, code: str
) -> None:
    before = await state(db)
    body = await mutate(client, INVITE, admin(issuer), email=email, role="MEMBER")
    assert codes(body) == [code] and result(body)["token"] is None and result(body)["invitation"] is None
    assert await state(db) == before


async def test_concurrent_invitations_of_one_address_leave_one_pending(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db
) -> None:
    email = f"{unique('race')}@globex.example"
    bodies = await asyncio.gather(
        *(mutate(client, INVITE, admin(issuer), email=email, role="MEMBER") for _ in range(8))
    )
    assert sorted(c for b in bodies for c in codes(b)) == ["INVITATION_PENDING"] * 7
    assert await db.team_invitations.count_documents({"organization_id": ORG_ID, "email": email}) == 1


# --- workflows ---------------------------------------------------------------------------


async def test_create_workflow_is_a_draft_at_version_one(client: httpx.AsyncClient, issuer: TestIssuer, db: Db) -> None:
    name = unique("Nightly report")
    steps = [
        {"agentId": agent(1), "action": " summarize ", "params": {"lookback_days": 30, "channels": ["meta"]}},
        {"agentId": agent(3), "action": "notify"},
    ]
    body = await mutate(client, CREATE, issuer.token(ORG, "owner"), name=name, description="", steps=steps)
    workflow = result(body)["workflow"]
    assert result(body)["userErrors"] == []
    assert workflow["name"] == name and workflow["description"] is None
    assert (workflow["version"], workflow["status"]) == (1, "DRAFT")
    assert workflow["steps"] == [
        {"action": "summarize", "params": {"lookback_days": 30, "channels": ["meta"]}, "agent": {"id": agent(1)}},
        {"action": "notify", "params": {}, "agent": {"id": agent(3)}},
    ]
    doc = await db.agentkit_workflows.find_one({"_id": raw(workflow["id"])})
    assert doc is not None and doc["organization_id"] == ORG_ID
    assert [s["agent_id"] for s in doc["steps"]] == [str(oid("agent", ORG, 1)), str(oid("agent", ORG, 3))]
    assert doc.get(MARKER_COUNT) == 0
    (event,) = await audit_events(db, str(doc["_id"]), "workflow.created")
    assert event["details"] == {"name": name, "steps": 2}


STEP = {"agentId": agent(0), "action": "analyze"}


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"name": "  "}, "INVALID_NAME", "name"),
        ({"name": "x" * 201}, "INVALID_NAME", "name"),
        ({"description": "d" * 2001}, "INVALID_DESCRIPTION", "description"),
        ({"steps": []}, "INVALID_STEPS", "steps"),
        ({"steps": [STEP] * 51}, "INVALID_STEPS", "steps"),
        ({"steps": [STEP, {**STEP, "agentId": agent(0, "acme")}]}, "NOT_FOUND", "steps[1].agentId"),
        ({"steps": [{**STEP, "agentId": seeded_workflow(0)}]}, "INVALID_ID", "steps[0].agentId"),
        ({"steps": [{**STEP, "action": ""}]}, "INVALID_ACTION", "steps[0].action"),
        ({"steps": [{**STEP, "params": [1, 2]}]}, "INVALID_JSON", "steps[0].params"),
        ({"steps": [{**STEP, "params": {"$where": "1"}}]}, "INVALID_JSON", "steps[0].params"),
        ({"steps": [{**STEP, "params": {"a": {"b.c": 1}}}]}, "INVALID_JSON", "steps[0].params"),
        ({"steps": [{**STEP, "params": {"blob": "x" * 70_000}}]}, "INVALID_JSON", "steps[0].params"),
    ],
)
async def test_create_workflow_rejections_change_nothing(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db, change: dict[str, Any], code: str, field: str
) -> None:
    before = await state(db)
    body = await mutate(client, CREATE, admin(issuer), **{"name": "Valid", "steps": [STEP], **change})
    assert [(e["code"], e["field"]) for e in result(body)["userErrors"]] == [(code, field)]
    assert result(body)["workflow"] is None
    assert await state(db) == before


async def test_update_workflow_raises_the_version(client: httpx.AsyncClient, issuer: TestIssuer, db: Db) -> None:
    workflow = await new_workflow(client, issuer)
    body = await mutate(
        client,
        UPDATE,
        admin(issuer),
        workflowId=workflow["id"],
        expectedVersion=1,
        name="Renamed",
        steps=[{"agentId": agent(2), "action": "recommend"}, STEP],
    )
    updated = result(body)["workflow"]
    assert updated["name"] == "Renamed" and updated["version"] == 2 and updated["status"] == "DRAFT"
    assert updated["description"] == "made by a test" and [s["action"] for s in updated["steps"]] == [
        "recommend",
        "analyze",
    ]
    (event,) = await audit_events(db, str(raw(workflow["id"])), "workflow.updated")
    assert event["details"] == {"fromVersion": 1, "toVersion": 2, "changed": ["name", "steps"]}

    before = await state(db)
    stale = await mutate(client, UPDATE, admin(issuer), workflowId=workflow["id"], expectedVersion=1, name="Lost")
    (error,) = result(stale)["userErrors"]
    assert (error["code"], error["field"]) == ("VERSION_CONFLICT", "expectedVersion") and "version 2" in error[
        "message"
    ]
    assert result(stale)["workflow"] is None
    assert await state(db) == before


async def test_archived_workflows_cannot_change(client: httpx.AsyncClient, issuer: TestIssuer, db: Db) -> None:
    workflow = await new_workflow(client, issuer)
    body = await mutate(client, UPDATE, admin(issuer), workflowId=workflow["id"], expectedVersion=1, status="ARCHIVED")
    assert result(body)["workflow"]["status"] == "ARCHIVED"
    before = await state(db)
    for document, extra in (
        (UPDATE, {"expectedVersion": 2, "status": "ACTIVE"}),
        (SCHEDULE, {"cron": "0 6 * * *", "timezone": "UTC", "enabled": True}),
    ):
        assert codes(await mutate(client, document, admin(issuer), workflowId=workflow["id"], **extra)) == [
            "WORKFLOW_ARCHIVED"
        ]
    assert codes(await mutate(client, RUN, admin(issuer), workflowId=workflow["id"])) == ["WORKFLOW_NOT_ACTIVE"]
    assert await state(db) == before


@pytest.mark.parametrize(
    ("workflow_id", "change", "code"),
    [
        (seeded_workflow(0, "acme"), {"name": "Hijack"}, "NOT_FOUND"),
        (to_global_id("Workflow", ObjectId("0" * 24)), {"name": "Ghost"}, "NOT_FOUND"),
        (seeded_workflow(5), {}, "NOTHING_TO_UPDATE"),
        (seeded_workflow(5), {"name": ""}, "INVALID_NAME"),
        (seeded_workflow(5), {"steps": [{**STEP, "agentId": agent(1, "acme")}]}, "NOT_FOUND"),
    ],
)
async def test_update_workflow_rejections_change_nothing(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db, workflow_id: str, change: dict[str, Any], code: str
) -> None:
    acme = await db.agentkit_workflows.find_one({"_id": oid("workflow", "acme", 0)})
    current = await db.agentkit_workflows.find_one({"_id": raw(workflow_id)})
    version = current["version"] if current else 1
    before = await state(db)
    body = await mutate(client, UPDATE, admin(issuer), workflowId=workflow_id, expectedVersion=version, **change)
    assert codes(body) == [code]
    assert await state(db) == before
    assert await db.agentkit_workflows.find_one({"_id": oid("workflow", "acme", 0)}) == acme


async def test_concurrent_updates_with_one_expected_version_one_wins(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db
) -> None:
    workflow = await new_workflow(client, issuer)
    bodies = await asyncio.gather(
        *(
            mutate(client, UPDATE, admin(issuer), workflowId=workflow["id"], expectedVersion=1, name=f"Edit {i}")
            for i in range(12)
        )
    )
    winners = [b for b in bodies if not result(b)["userErrors"]]
    assert len(winners) == 1 and result(winners[0])["workflow"]["version"] == 2
    assert [codes(b) for b in bodies if b not in winners] == [["VERSION_CONFLICT"]] * 11
    doc = await db.agentkit_workflows.find_one({"_id": raw(workflow["id"])})
    assert doc is not None and doc["version"] == 2 and doc["name"] == result(winners[0])["workflow"]["name"]
    assert len(await audit_events(db, str(raw(workflow["id"])), "workflow.updated")) == 1


# --- runs and the quota -------------------------------------------------------------------


async def test_run_workflow_queues_an_execution_and_uses_the_quota(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db
) -> None:
    workflow = await new_workflow(client, issuer, active=True)
    quota_before = await db.usage_quotas.find_one({"organization_id": ORG_ID, "resource": "workflow_runs"})
    assert quota_before is not None
    body = await mutate(client, RUN, issuer.token(ORG, "owner"), workflowId=workflow["id"], input={"window": "7d"})
    run = result(body)
    assert run["userErrors"] == []
    assert run["execution"]["status"] == "QUEUED" and run["execution"]["input"] == {"window": "7d"}
    assert run["execution"]["triggeredBy"] == "USER" and run["execution"]["workflow"]["id"] == workflow["id"]
    assert run["quota"]["used"] == quota_before["used"] + 1 and run["quota"]["limit"] == quota_before["limit"]
    doc = await db.agentkit_executions.find_one({"_id": raw(run["execution"]["id"])})
    assert doc is not None and doc["organization_id"] == ORG_ID and doc["workflow_id"] == str(raw(workflow["id"]))
    assert doc["triggered_by_actor"]["id"] == issuer.claims(ORG, "owner")["sub"] and doc["workflow_version"] == 2
    (event,) = await audit_events(db, str(doc["_id"]), "workflow.run")
    assert event["details"]["workflowId"] == str(raw(workflow["id"]))
    quota = await db.usage_quotas.find_one({"_id": quota_before["_id"]})
    assert quota is not None and quota.get(MARKER) == {} and quota[MARKER_COUNT] == 0
    # The queued run (not started yet) is the newest execution, in both lists.
    listed = await gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Workflow { executions(first: 1) { edges { node { id } } } } } "
        "organization { executions(first: 1) { edges { node { id } } } } }",
        {"id": workflow["id"]},
        token=issuer.token(ORG, "owner"),
    )
    newest = run["execution"]["id"]
    assert listed["data"]["node"]["executions"]["edges"][0]["node"]["id"] == newest
    assert listed["data"]["organization"]["executions"]["edges"][0]["node"]["id"] == newest


@pytest.mark.parametrize(
    ("workflow_id", "run_input", "code"),
    [
        (seeded_workflow(5), None, "WORKFLOW_NOT_ACTIVE"),  # draft
        (seeded_workflow(7), None, "WORKFLOW_NOT_ACTIVE"),  # archived
        (seeded_workflow(0, "acme"), None, "NOT_FOUND"),
        (seeded_workflow(0), [1, 2], "INVALID_JSON"),
        (seeded_workflow(0), "text", "INVALID_JSON"),
        (to_global_id("Agent", oid("agent", ORG, 0)), None, "INVALID_ID"),
    ],
)
async def test_run_rejections_change_nothing(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db, workflow_id: str, run_input: Any, code: str
) -> None:
    before = await state(db)
    body = await mutate(client, RUN, admin(issuer), workflowId=workflow_id, input=run_input)
    assert codes(body) == [code] and result(body)["execution"] is None
    assert await state(db) == before


async def test_concurrent_runs_never_exceed_the_quota(client: httpx.AsyncClient, issuer: TestIssuer, db: Db) -> None:
    workflow = await new_workflow(client, issuer, active=True)
    quota = await db.usage_quotas.find_one({"organization_id": ORG_ID, "resource": "workflow_runs"})
    assert quota is not None
    await db.usage_quotas.update_one({"_id": quota["_id"]}, {"$set": {"used": quota["limit"] - 5}})
    try:
        token = admin(issuer)
        bodies = await asyncio.gather(*(mutate(client, RUN, token, workflowId=workflow["id"]) for _ in range(30)))
        outcomes = sorted(tuple(codes(b)) for b in bodies)
        assert outcomes == [()] * 5 + [("QUOTA_EXCEEDED",)] * 25
        after = await db.usage_quotas.find_one({"_id": quota["_id"]})
        assert after is not None and after["used"] == after["limit"] == quota["limit"]
        executions = await db.agentkit_executions.find({"workflow_id": str(raw(workflow["id"]))}).to_list(None)
        assert len(executions) == 5
        returned = {result(b)["execution"]["id"] for b in bodies if not codes(b)}
        assert {to_global_id("WorkflowExecution", e["_id"]) for e in executions} == returned
        assert sorted(result(b)["quota"]["used"] for b in bodies if not codes(b)) == list(
            range(quota["limit"] - 4, quota["limit"] + 1)
        )
        for execution in executions:
            assert len(await audit_events(db, str(execution["_id"]), "workflow.run")) == 1

        before = await state(db)
        exhausted = await mutate(client, RUN, token, workflowId=workflow["id"], idempotencyKey=unique("k"))
        assert codes(exhausted) == ["QUOTA_EXCEEDED"] and result(exhausted)["execution"] is None
        before["idempotency_keys"] += 1  # the key remembers the rejection
        assert await state(db) == before
    finally:
        await db.usage_quotas.update_one({"_id": quota["_id"]}, {"$set": {"used": quota["used"]}})


# --- schedules ---------------------------------------------------------------------------


async def test_set_schedule_creates_one_schedule_per_workflow(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db
) -> None:
    workflow = await new_workflow(client, issuer)
    body = await mutate(
        client,
        SCHEDULE,
        admin(issuer),
        workflowId=workflow["id"],
        cron="0 6 * * *",
        timezone="Europe/Berlin",
        enabled=True,
    )
    schedule = result(body)["schedule"]
    assert result(body)["userErrors"] == [] and schedule["workflow"]["id"] == workflow["id"]
    assert (schedule["cron"], schedule["timezone"], schedule["enabled"]) == ("0 6 * * *", "Europe/Berlin", True)
    next_run = dt.datetime.fromisoformat(schedule["nextRunAt"])
    assert next_run.utcoffset() == dt.timedelta(0)
    berlin = next_run.astimezone(ZoneInfo("Europe/Berlin"))
    assert (berlin.hour, berlin.minute) == (6, 0)
    assert dt.timedelta(0) < next_run - dt.datetime.now(dt.UTC) <= dt.timedelta(days=1)

    body = await mutate(
        client,
        SCHEDULE,
        admin(issuer),
        workflowId=workflow["id"],
        cron="*/15  *  * * 1-5",
        timezone="UTC",
        enabled=False,
    )
    paused = result(body)["schedule"]
    assert paused["id"] == schedule["id"] and paused["cron"] == "*/15 * * * 1-5"
    assert paused["enabled"] is False and paused["nextRunAt"] is None
    docs = await db.scheduled_workflows.find({"workflow_id": str(raw(workflow["id"]))}).to_list(None)
    assert len(docs) == 1 and docs[0]["timezone"] == "UTC"
    events = await audit_events(db, str(docs[0]["_id"]), "workflow.schedule_set")
    assert [e["details"]["enabled"] for e in sorted(events, key=lambda e: e["at"])] == [True, False]


async def test_concurrent_first_schedules_make_one_document(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db
) -> None:
    workflow = await new_workflow(client, issuer)
    bodies = await asyncio.gather(
        *(
            mutate(
                client,
                SCHEDULE,
                admin(issuer),
                workflowId=workflow["id"],
                cron=f"{m} * * * *",
                timezone="UTC",
                enabled=True,
            )
            for m in range(6)
        )
    )
    assert all(codes(b) == [] for b in bodies)
    assert await db.scheduled_workflows.count_documents({"workflow_id": str(raw(workflow["id"]))}) == 1


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"cron": "61 * * * *"}, "INVALID_CRON"),
        ({"cron": "0 6 * * * *"}, "INVALID_CRON"),  # seconds field
        ({"cron": "every day"}, "INVALID_CRON"),
        ({"timezone": "Mars/Olympus_Mons"}, "INVALID_TIMEZONE"),
        ({"timezone": "../../etc/passwd"}, "INVALID_TIMEZONE"),
        ({"workflowId": seeded_workflow(0, "acme")}, "NOT_FOUND"),
        ({"workflowId": seeded_workflow(7)}, "WORKFLOW_ARCHIVED"),
    ],
)
async def test_schedule_rejections_change_nothing(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db, change: dict[str, Any], code: str
) -> None:
    schedules = await db.scheduled_workflows.find({}).sort("_id", 1).to_list(None)
    before = await state(db)
    base = {"workflowId": seeded_workflow(6), "cron": "0 6 * * *", "timezone": "UTC", "enabled": True}
    body = await mutate(client, SCHEDULE, admin(issuer), **{**base, **change})
    assert codes(body) == [code] and result(body)["schedule"] is None
    assert await state(db) == before
    assert await db.scheduled_workflows.find({}).sort("_id", 1).to_list(None) == schedules


# --- idempotency -------------------------------------------------------------------------


async def test_a_replay_returns_the_first_response_and_changes_nothing(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db
) -> None:
    key = unique("create")
    args = {"name": unique("Replayed"), "steps": [STEP], "idempotencyKey": key}
    first = await mutate(client, CREATE, admin(issuer), **args)
    assert result(first)["userErrors"] == []
    before = await state(db)
    assert await mutate(client, CREATE, admin(issuer), **args) == first
    assert await state(db) == before
    other_input = await mutate(client, CREATE, admin(issuer), **{**args, "name": "Something else"})
    assert error_code(other_input) == "CONFLICT"
    other_operation = await mutate(client, RUN, admin(issuer), workflowId=seeded_workflow(0), idempotencyKey=key)
    assert error_code(other_operation) == "CONFLICT"
    assert await state(db) == before
    record = await db.idempotency_keys.find_one({"_id": admin_key(issuer, key)})
    assert record is not None and record["organization_id"] == ORG_ID and record["state"] == "done"


async def test_concurrent_replays_apply_once(client: httpx.AsyncClient, issuer: TestIssuer, db: Db) -> None:
    workflow = await new_workflow(client, issuer, active=True)
    quota = await db.usage_quotas.find_one({"organization_id": ORG_ID, "resource": "workflow_runs"})
    assert quota is not None
    args = {"workflowId": workflow["id"], "input": {"n": 1}, "idempotencyKey": unique("run")}
    bodies = await asyncio.gather(*(mutate(client, RUN, admin(issuer), **args) for _ in range(20)))
    assert all(b == bodies[0] for b in bodies) and codes(bodies[0]) == []
    assert await db.agentkit_executions.count_documents({"workflow_id": str(raw(workflow["id"]))}) == 1
    after = await db.usage_quotas.find_one({"_id": quota["_id"]})
    assert after is not None and after["used"] == quota["used"] + 1
    assert len(await audit_events(db, str(raw(result(bodies[0])["execution"]["id"])), "workflow.run")) == 1


async def test_an_invitation_replay_does_not_return_the_token_again(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db
) -> None:
    args = {"email": f"{unique('once')}@globex.example", "role": "MEMBER", "idempotencyKey": unique("invite")}
    first = await mutate(client, INVITE, admin(issuer), **args)
    before = await state(db)
    again = await mutate(client, INVITE, admin(issuer), **args)
    assert result(first)["token"] and result(again)["token"] is None
    assert result(again)["invitation"] == result(first)["invitation"] and codes(again) == []
    assert await state(db) == before


async def test_a_rejection_is_replayed_too(client: httpx.AsyncClient, issuer: TestIssuer, db: Db) -> None:
    args = {"workflowId": seeded_workflow(5), "idempotencyKey": unique("draft-run")}
    first = await mutate(client, RUN, admin(issuer), **args)
    assert codes(first) == ["WORKFLOW_NOT_ACTIVE"]
    before = await state(db)
    assert await mutate(client, RUN, admin(issuer), **args) == first
    assert await state(db) == before


async def test_a_stale_version_is_remembered_under_its_key_like_any_user_error(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db
) -> None:
    workflow = await new_workflow(client, issuer)
    key = unique("update")
    args = {"workflowId": workflow["id"], "name": "A", "idempotencyKey": key}
    stale = await mutate(client, UPDATE, admin(issuer), expectedVersion=9, **args)
    assert codes(stale) == ["VERSION_CONFLICT"]
    assert await mutate(client, UPDATE, admin(issuer), expectedVersion=9, **args) == stale
    assert error_code(await mutate(client, UPDATE, admin(issuer), expectedVersion=1, **args)) == "CONFLICT"
    fixed = await mutate(client, UPDATE, admin(issuer), expectedVersion=1, **{**args, "idempotencyKey": unique("u")})
    assert result(fixed)["workflow"]["version"] == 2


@pytest.mark.parametrize("key", ["", "k" * 201])
async def test_idempotency_keys_are_1_to_200_characters(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db, key: str
) -> None:
    before = await state(db)
    body = await mutate(client, CREATE, admin(issuer), name="Keyed", steps=[STEP], idempotencyKey=key)
    # A malformed key is the caller's mistake, not a clash with an earlier request.
    assert error_code(body) == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["argument"] == "idempotencyKey"
    assert await state(db) == before


# --- authorization -----------------------------------------------------------------------

EVERY_MUTATION: list[tuple[str, dict[str, Any]]] = [
    (INVITE, {"email": "someone@globex.example", "role": "MEMBER"}),
    (REVOKE, {"invitationId": to_global_id("Invitation", oid("invitation", ORG, 0))}),
    (CREATE, {"name": "Nope", "steps": [STEP]}),
    (UPDATE, {"workflowId": seeded_workflow(5), "expectedVersion": 2, "name": "Nope"}),
    (RUN, {"workflowId": seeded_workflow(0)}),
    (SCHEDULE, {"workflowId": seeded_workflow(0), "cron": "0 6 * * *", "timezone": "UTC", "enabled": True}),
]


@pytest.mark.parametrize("role", ["analyst", "viewer", "marketer", "partner"])
async def test_only_admins_and_owners_may_mutate(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db, role: str
) -> None:
    if role == "partner":
        token = issuer.token(
            ORG, "owner", sub="partner-globex", azp="partner-globex", scope="actions:write metrics:write"
        )
    else:
        token = issuer.token(ORG, role)
    before = await state(db)
    for document, args in EVERY_MUTATION:
        body = await mutate(client, document, token, **args, idempotencyKey=unique("forbidden"))
        assert error_code(body) == "FORBIDDEN", (document, body)
    assert await state(db) == before


# --- audit events ------------------------------------------------------------------------


async def test_every_audit_event_is_complete_and_unique(client: httpx.AsyncClient, issuer: TestIssuer, db: Db) -> None:
    await new_workflow(client, issuer)  # at least one event, whatever ran before
    events = [
        e
        for e in await db.audit_logs.find({"organization_id": ORG_ID, "action": {"$in": MY_ACTIONS}}).to_list(None)
        if not e["request_id"].startswith("seed-")
    ]
    assert events
    assert len({e["event_id"] for e in events}) == len(events)
    for event in events:
        uuid.UUID(event["event_id"])
        assert event["actor"]["kind"] == "user" and event["actor"]["id"] and event["actor"]["email"]
        assert event["target"]["type"] in {"Invitation", "Workflow", "WorkflowExecution", "ScheduledWorkflow"}
        assert ObjectId.is_valid(event["target"]["id"]) and event["request_id"] and event["at"]
    assert await db.agentkit_workflows.count_documents({"organization_id": ORG_ID, MARKER_COUNT: {"$gt": 0}}) == 0


def test_every_enterprise_mutation_type_field_and_argument_is_described() -> None:
    types = {t["name"]: t for t in schema.introspect()["__schema"]["types"]}
    mine = [f for f in types["Mutation"]["fields"] if f["name"] in MUTATION_NAMES]
    assert len(mine) == len(MUTATION_NAMES)
    missing = [f["name"] for f in mine if not f["description"]]
    missing += [f"{f['name']}({a['name']})" for f in mine for a in f["args"] if not a["description"]]
    for name in MUTATION_TYPES:
        type_ = types[name]
        members = (type_.get("fields") or []) + (type_.get("inputFields") or []) + (type_.get("enumValues") or [])
        missing += [name] if not type_["description"] else []
        missing += [f"{name}.{m['name']}" for m in members if not m["description"]]
    assert missing == []


MUTATION_NAMES = {
    "inviteTeamMember",
    "revokeInvitation",
    "acceptInvitation",
    "createWorkflow",
    "updateWorkflow",
    "runWorkflow",
    "setWorkflowSchedule",
}
MUTATION_TYPES = [
    "InvitationRole",
    "InviteTeamMemberInput",
    "InviteTeamMemberPayload",
    "RevokeInvitationInput",
    "AcceptInvitationInput",
    "InvitationPayload",
    "WorkflowStepInput",
    "CreateWorkflowInput",
    "UpdateWorkflowInput",
    "WorkflowPayload",
    "RunWorkflowInput",
    "RunWorkflowPayload",
    "SetWorkflowScheduleInput",
    "SetWorkflowSchedulePayload",
]


# --- recovery after a crash, and the transaction path --------------------------------------


@pytest.fixture
async def store(seeded: Stores) -> AsyncIterator[MongoStore]:
    mongo = MongoStore(seeded.mongo_url, seeded.mongo_db)
    await mongo.open()
    yield mongo
    await mongo.close()


def marked_workflow(event_id: str, name: str, minutes_ago: float) -> dict[str, Any]:
    """A workflow as a writer leaves it when it dies right after its change: the audit event still on it."""
    at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)
    at = at.replace(microsecond=at.microsecond // 1000 * 1000)
    workflow_id = ObjectId()
    event = {
        "event_id": event_id,
        "organization_id": ORG_ID,
        "actor": {"kind": "user", "id": "crashed-subject", "email": "admin@globex.example"},
        "action": "workflow.created",
        "target": {"type": "Workflow", "id": str(workflow_id)},
        "details": {"name": name},
        "request_id": "crashed-request",
        "at": at,
    }
    return {
        "_id": workflow_id,
        "organization_id": ORG_ID,
        "name": name,
        "description": None,
        "steps": [{"agent_id": str(oid("agent", ORG, 0)), "action": "analyze", "params": {}}],
        "version": 1,
        "status": "draft",
        "created_at": at,
        "updated_at": at,
        MARKER: {event_id: Pending(event, []).marker()},
        MARKER_COUNT: 1,
    }


async def test_the_sweep_delivers_audit_events_a_dead_writer_left_behind(db: Db, store: MongoStore) -> None:
    stale, fresh = str(uuid.uuid4()), str(uuid.uuid4())
    old_doc = marked_workflow(stale, unique("Crashed"), minutes_ago=LEASE_S / 60 + 1)
    new_doc = marked_workflow(fresh, unique("In flight"), minutes_ago=0)
    await db.agentkit_workflows.insert_many([old_doc, new_doc])
    assert await deliver_pending_audits(store) >= 1
    assert await deliver_pending_audits(store) == 0  # delivered once
    delivered = await db.audit_logs.find_one({"event_id": stale})
    assert delivered is not None and delivered["target"]["id"] == str(old_doc["_id"])
    swept = await db.agentkit_workflows.find_one({"_id": old_doc["_id"]})
    assert swept is not None and swept[MARKER] == {} and swept[MARKER_COUNT] == 0
    # A writer that may still be running is left to finish its own delivery.
    assert await db.audit_logs.find_one({"event_id": fresh}) is None
    assert await deliver_pending_audits(store, older_than_s=0) == 1
    assert await db.audit_logs.count_documents({"event_id": fresh}) == 1


def _crash_input(name: str) -> tuple[dict[str, Any], str]:
    """GraphQL variables and the idempotency digest the resolver computes for the same createWorkflow input."""
    step = WorkflowStepInput(agent_id=strawberry.ID(agent(0)), action="analyze")
    data = CreateWorkflowInput(name=name, steps=[step])
    return {"name": name, "steps": [{"agentId": agent(0), "action": "analyze"}]}, request_hash(
        "createWorkflow", input_arguments(data)
    )


async def test_a_key_abandoned_after_its_change_completes_without_a_second_change(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db
) -> None:
    key, event_id, name = unique("crash"), str(uuid.uuid4()), unique("Half done")
    variables, digest = _crash_input(name)
    doc = marked_workflow(event_id, name, minutes_ago=0)
    await db.agentkit_workflows.insert_one(doc)
    claimed = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=LEASE_S + 5)
    await db.idempotency_keys.insert_one(
        {
            "_id": admin_key(issuer, key),
            "organization_id": ORG_ID,
            "key": key,
            "principal": admin_key(issuer, key).split(":")[1],
            "operation": "createWorkflow",
            "request_hash": digest,
            "state": "pending",
            "attempt": event_id,
            "claimed_at": claimed,
        }
    )
    body = await mutate(client, CREATE, admin(issuer), **variables, idempotencyKey=key)
    assert result(body)["workflow"]["id"] == to_global_id("Workflow", doc["_id"]) and codes(body) == []
    assert await db.agentkit_workflows.count_documents({"organization_id": ORG_ID, "name": name}) == 1
    assert await db.audit_logs.count_documents({"event_id": event_id}) == 1
    record = await db.idempotency_keys.find_one({"_id": admin_key(issuer, key)})
    assert record is not None and record["state"] == "done"
    assert await mutate(client, CREATE, admin(issuer), **variables, idempotencyKey=key) == body


async def test_a_key_abandoned_before_its_change_runs_the_mutation_once(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db
) -> None:
    key, name = unique("crash-early"), unique("Never started")
    variables, digest = _crash_input(name)
    claimed = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=LEASE_S + 5)
    await db.idempotency_keys.insert_one(
        {
            "_id": admin_key(issuer, key),
            "organization_id": ORG_ID,
            "key": key,
            "principal": admin_key(issuer, key).split(":")[1],
            "operation": "createWorkflow",
            "request_hash": digest,
            "state": "pending",
            "attempt": str(uuid.uuid4()),
            "claimed_at": claimed,
        }
    )
    bodies = await asyncio.gather(
        *(mutate(client, CREATE, admin(issuer), **variables, idempotencyKey=key) for _ in range(5))
    )
    assert all(b == bodies[0] for b in bodies) and codes(bodies[0]) == []
    assert await db.agentkit_workflows.count_documents({"organization_id": ORG_ID, "name": name}) == 1


async def test_the_transaction_path_commits_the_change_with_its_event_or_nothing(db: Db, store: MongoStore) -> None:
    """What a replica set runs, forced here: the stand-in executes transactions on one session."""
    store.transactions = True
    tenant = store.tenant(ORG_ID)
    kept, dropped = ObjectId(), ObjectId()

    async def insert(w: Writes, workflow_id: ObjectId) -> dict[str, Any]:
        doc = {"_id": workflow_id, "name": unique("Tx"), "steps": [], "version": 1, "status": "draft"}
        await w.insert("agentkit_workflows", doc, Audit("workflow.created", "Workflow", str(workflow_id), {}))
        return {"id": str(workflow_id)}

    async def fail_after_write(w: Writes) -> dict[str, Any]:
        await insert(w, dropped)
        raise RuntimeError("dies after its write")

    async def never(event: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("nothing to recover")

    attempt = Attempt({"kind": "user", "id": "tx-subject", "email": "admin@globex.example"}, "tx-request")
    mutation = MongoMutation(tenant, attempt, "createWorkflow", "digest-1", "tx-principal")
    key = unique("tx")
    assert await mutation.run(key, lambda w: insert(w, kept), never) == {"id": str(kept)}
    doc = await db.agentkit_workflows.find_one({"_id": kept})
    assert doc is not None and MARKER not in doc and MARKER_COUNT not in doc
    assert await db.audit_logs.count_documents({"event_id": attempt.event_id}) == 1
    assert (await db.idempotency_keys.find_one({"_id": f"{ORG_ID}:tx-principal:{key}"}) or {})["state"] == "done"

    failing = MongoMutation(
        tenant, Attempt(attempt.actor, "tx-request-2"), "createWorkflow", "digest-2", "tx-principal"
    )
    failing_key = unique("tx")
    with pytest.raises(RuntimeError):
        await failing.run(failing_key, fail_after_write, never)
    assert await db.idempotency_keys.find_one({"_id": f"{ORG_ID}:tx-principal:{failing_key}"}) is None  # released
    assert await db.agentkit_workflows.find_one({"_id": dropped}) is None
    assert await db.audit_logs.count_documents({"event_id": failing.attempt.event_id}) == 0


async def test_the_stand_in_is_not_a_replica_set(store: MongoStore) -> None:
    # So the suite exercises the marker path end to end; a real replica set would take the transaction path.
    assert await store.transactions_supported() is False


async def test_the_new_store_calls_stay_in_their_organization(db: Db, store: MongoStore) -> None:
    globex, acme_workflow = store.tenant(ORG_ID), oid("workflow", "acme", 0)
    assert await globex.delete_one("agentkit_workflows", {"_id": acme_workflow}) == 0
    assert await db.agentkit_workflows.find_one({"_id": acme_workflow}) is not None
    with pytest.raises(UnscopedQuery):
        await globex.delete_one("idempotency_keys", {"organization_id": str(oid("org", "acme"))})
    with pytest.raises(UnscopedQuery):
        await store.organizations_matching("system.users", {})
    assert await globex.find_one("idempotency_keys", {"_id": f"{oid('org', 'acme')}:any"}) is None
