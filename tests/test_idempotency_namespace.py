"""Idempotency keys belong to one organization and one principal (issuer + subject).

The repro: a globex admin holding one of acme's invitation tokens (revoked or
pending) sent `acceptInvitation` with an idempotency key, which stored that key in
acme's namespace, so acme's own later use of the key was a CONFLICT. Now the
neighbour stores nothing there, and keys of different callers of one organization
never meet, in PostgreSQL (Brain mutations) as in MongoDB (enterprise ones).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from gateway.core.auth import NO_ORGANIZATION, Principal
from gateway.core.idempotency import principal_key
from gateway.data.ids import to_global_id
from gateway.ops.seed import oid, seed_subject, uid
from tests.conftest import Stores, gql
from tests.support.issuer import TestIssuer

ACCEPT = """mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) {
  invitation { id status } userErrors { code field } } }"""
RUN = """mutation($input: RunWorkflowInput!) { runWorkflow(input: $input) {
  execution { id } userErrors { code field } } }"""
PAUSE = """mutation($input: CreativeStatusInput!) { pauseCreative(input: $input) {
  creative { id status } actionLog { id } userErrors { code field } } }"""
RESUME = PAUSE.replace("pauseCreative", "resumeCreative")
BRAIN_ORG = "initech"  # Brain mutation tests change initech's creatives (and restore them here)

Db = AsyncDatabase[dict[str, Any]]


@pytest.fixture
async def db(seeded: Stores) -> AsyncIterator[Db]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(seeded.mongo_url, tz_aware=True)
    yield client[seeded.mongo_db]
    await client.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def draft_workflow(org: str) -> str:
    """Seeded workflows 5 and 6 are drafts: running one is the user error WORKFLOW_NOT_ACTIVE, which changes nothing."""
    return to_global_id("Workflow", oid("workflow", org, 5))


def key_namespace(issuer: TestIssuer, org: str, role: str) -> str:
    return principal_key(Principal(seed_subject(org, role), issuer.url, "user", NO_ORGANIZATION))


async def mutate(client: httpx.AsyncClient, document: str, bearer: str, /, **input_: Any) -> dict[str, Any]:
    body = await gql(client, document, {"input": input_}, token=bearer)
    return body


def outcome(body: dict[str, Any]) -> list[str] | str:
    """The user error codes of the answer, or the code of its top-level error."""
    if body.get("errors"):
        return str(body["errors"][0]["extensions"]["code"])
    (payload,) = body["data"].values()
    return [e["code"] for e in payload["userErrors"]]


@pytest.mark.parametrize("token", ["invite:acme:2", "invite:acme:0"], ids=["revoked", "pending"])
async def test_a_neighbours_invitation_token_writes_no_key_into_our_namespace(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db, token: str
) -> None:
    key, acme = unique("join"), str(oid("org", "acme"))
    neighbour = issuer.token("globex", "admin")
    body = await mutate(client, ACCEPT, neighbour, token=token, idempotencyKey=key)
    assert outcome(body) == ["ALREADY_MEMBER"] and body["data"]["acceptInvitation"]["invitation"] is None
    assert await db.idempotency_keys.count_documents({"key": key}) == 0
    invitation = await db.team_invitations.find_one({"_id": oid("invitation", "acme", int(token[-1]))})
    assert invitation is not None and invitation["status"] == ("revoked" if token.endswith("2") else "pending")

    # Acme's own use of the key is its own: no CONFLICT, and a replay returns the first answer.
    owner = issuer.token("acme", "owner")
    first = await mutate(client, RUN, owner, workflowId=draft_workflow("acme"), idempotencyKey=key)
    assert outcome(first) == ["WORKFLOW_NOT_ACTIVE"], first
    assert await mutate(client, RUN, owner, workflowId=draft_workflow("acme"), idempotencyKey=key) == first
    stored = await db.idempotency_keys.find_one({"key": key})
    assert stored is not None and stored["organization_id"] == acme
    assert stored["_id"] == f"{acme}:{key_namespace(issuer, 'acme', 'owner')}:{key}"


async def test_enterprise_keys_are_per_principal(client: httpx.AsyncClient, issuer: TestIssuer, db: Db) -> None:
    key = unique("shared")
    admin, owner = issuer.token("globex", "admin"), issuer.token("globex", "owner")
    as_admin = await mutate(client, RUN, admin, workflowId=draft_workflow("globex"), idempotencyKey=key)
    other_workflow = to_global_id("Workflow", oid("workflow", "globex", 6))
    as_owner = await mutate(client, RUN, owner, workflowId=other_workflow, idempotencyKey=key, input={"n": 1})
    assert outcome(as_admin) == outcome(as_owner) == ["WORKFLOW_NOT_ACTIVE"]
    # Each caller's key still guards its own input.
    assert outcome(await mutate(client, RUN, admin, workflowId=other_workflow, idempotencyKey=key)) == "CONFLICT"
    assert await mutate(client, RUN, owner, workflowId=other_workflow, idempotencyKey=key, input={"n": 1}) == as_owner
    namespaces = {doc["principal"] async for doc in db.idempotency_keys.find({"key": key})}
    assert namespaces == {key_namespace(issuer, "globex", "admin"), key_namespace(issuer, "globex", "owner")}


async def test_brain_keys_are_per_principal(client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores) -> None:
    conn = await asyncpg.connect(seeded.database_url)
    try:
        creative = await conn.fetchval(
            "SELECT id FROM creatives WHERE organization_id = $1 AND status = 'active' ORDER BY id DESC LIMIT 1",
            uid("org", BRAIN_ORG),
        )
        creative_id = to_global_id("Creative", creative)
        key = unique("retry")
        marketer, owner = issuer.token(BRAIN_ORG, "marketer"), issuer.token(BRAIN_ORG, "owner")
        partner = issuer.token(BRAIN_ORG, "owner", sub="partner-initech-keys", azp="partner-initech-keys",
                               scope="actions:write")  # fmt: skip
        paused = await mutate(client, PAUSE, marketer, creativeId=creative_id, reason="fatigue", idempotencyKey=key)
        resumed = await mutate(client, RESUME, owner, creativeId=creative_id, reason="recovered", idempotencyKey=key)
        # Both applied: two action logs carry the same key (no longer unique per organization).
        assert outcome(paused) == outcome(resumed) == [], (paused, resumed)
        assert resumed["data"]["resumeCreative"]["creative"]["status"] == "ACTIVE"
        again = await mutate(client, PAUSE, marketer, creativeId=creative_id, reason="fatigue", idempotencyKey=key)
        assert again == paused  # the marketer's replay, although the owner used the key since
        other = await mutate(client, PAUSE, partner, creativeId=creative_id, reason="other", idempotencyKey=key)
        assert outcome(other) == [], other  # a partner of the organization: its own namespace too
        await mutate(client, RESUME, owner, creativeId=creative_id, reason="restore")
        assert outcome(
            await mutate(client, PAUSE, marketer, creativeId=creative_id, reason="x", idempotencyKey=key)
        ) == ("CONFLICT")
        rows = await conn.fetch("SELECT principal FROM idempotency_keys WHERE key = $1", key)
        assert len({r["principal"] for r in rows}) == 3 and "" not in {r["principal"] for r in rows}
        assert await conn.fetchval("SELECT count(*) FROM action_logs WHERE idempotency_key = $1", key) == 3
    finally:
        await conn.close()


def test_the_namespace_tells_issuers_and_subjects_apart() -> None:
    def of(issuer: str, subject: str) -> str:
        return principal_key(Principal(subject, issuer, "user", NO_ORGANIZATION))

    keys = {of("https://a.example", "1"), of("https://b.example", "1"), of("https://a.example", "2")}
    assert len(keys) == 3 and all(len(k) == 64 for k in keys)
    assert of("https://a.example", "1") == of("https://a.example", "1")
    # No separator games: the issuer and subject are encoded, not joined.
    assert of("https://a.example:", "1") != of("https://a.example", ":1")
