"""A hostile caller against today's write API: what a token of another kind or organization must not reach."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient

from gateway.ops.seed import oid, uid
from gateway.stores.postgres import PostgresStore
from tests.conftest import Stores, gql
from tests.support.issuer import TestIssuer
from tests.support.operator import ERRORS, codes, member_gid, mutate, result
from tests.support.operator import ORG as OPERATED
from tests.test_catalog_sync import _drop_new_orgs, catalog, fetch, new_org, sync
from tests.test_mutation_ids import Ids, build_input, mutation_inputs, unknown
from tests.test_operator_agentkit import RUN, active_workflow, admin, partner, seeded_agent

__all__ = ["_drop_new_orgs"]  # the organizations made here are dropped after each test

# Everything a WorkflowExecution tells about itself without reading another record.
FIELDS = f"execution {{ id status input output error triggeredBy }} {ERRORS}"
PARTNER_CANCEL = f"mutation($input: ExecutionInput!) {{ cancelExecution(input: $input) {{ {FIELDS} }} }}"
PARTNER_RETRY = f"mutation($input: ExecutionInput!) {{ retryExecution(input: $input) {{ {FIELDS} }} }}"
PRIVATE = {"note": "a person's run: its input is not the partner's to read"}


async def _persons_run(client: httpx.AsyncClient, issuer: TestIssuer) -> str:
    workflow_id = await active_workflow(client, issuer, seeded_agent(0))
    body = await mutate(client, RUN, admin(issuer), workflowId=workflow_id, input=PRIVATE)
    execution_id: str = result(body)["execution"]["id"]
    return execution_id


async def test_a_partner_cannot_cancel_a_run_it_did_not_start(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    # workflows:run reads no enterprise record, so a person's run (and its input) reads as missing.
    execution_id = await _persons_run(client, issuer)
    body = await mutate(client, PARTNER_CANCEL, partner(issuer, "workflows:run"), workflowExecutionId=execution_id)
    assert codes(body) == ["NOT_FOUND"] and result(body)["execution"] is None, body


async def test_a_partner_cannot_retry_a_run_it_did_not_start(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    execution_id = await _persons_run(client, issuer)
    cancel = f"mutation($input: ExecutionInput!) {{ cancelExecution(input: $input) {{ {ERRORS} }} }}"
    assert codes(await mutate(client, cancel, admin(issuer), workflowExecutionId=execution_id)) == []
    body = await mutate(client, PARTNER_RETRY, partner(issuer, "workflows:run"), workflowExecutionId=execution_id)
    assert codes(body) == ["NOT_FOUND"] and result(body)["execution"] is None, body


ARCHIVE = """mutation($input: CampaignStatusInput!) { archiveCampaign(input: $input) {
  campaign { status } archivedCreatives userErrors { code } } }"""


async def test_a_catalog_sync_does_not_bring_back_what_a_person_archived(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    # Archiving is final: a partner's sync (the platform still says ACTIVE) keeps the campaign and its
    # creatives archived, and a creative it adds to the archived campaign is archived too.
    org = await new_org(seeded)
    partner_token = org.partner(issuer)
    first = await sync(client, partner_token, catalog(campaigns=1, creatives=2))
    archived = await gql(
        client,
        ARCHIVE,
        {"input": {"campaignId": first["campaigns"][0]["id"], "reason": "done"}},
        token=org.person(issuer, "marketer"),
    )
    assert archived["data"]["archiveCampaign"]["archivedCreatives"] == 2, archived
    again = catalog(campaigns=1, creatives=3)
    for row in (*again["campaigns"], *again["creatives"]):
        row["status"] = "ACTIVE"
    payload = await sync(client, partner_token, again)
    assert payload["userErrors"] == [], payload
    rows = await fetch(
        seeded,
        "SELECT 'campaign' AS kind, status FROM campaigns WHERE organization_id = $1 "
        "UNION ALL SELECT 'creative', status FROM creatives WHERE organization_id = $1",
        org.id,
    )
    assert sorted((r["kind"], r["status"]) for r in rows) == [("campaign", "archived")] + [("creative", "archived")] * 3


CREATE_CREDENTIAL = (
    "mutation($input: CreateCredentialInput!) { createCredential(input: $input) { userErrors { code } } }"
)
NUMERIC_SECRET = 918273645546372819


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        (CREATE_CREDENTIAL, {"input": {"platform": "META", "secret": NUMERIC_SECRET}}),
        (CREATE_CREDENTIAL, {"input": {"platform": "META", "secret": [NUMERIC_SECRET]}}),
        (
            f"mutation {{ createCredential(input: {{platform: META, secret: {NUMERIC_SECRET}}}) {{ credential {{ id }} }} }}",
            {},
        ),
        (
            "mutation { createCredential(input: {platform: META, secret: tok918273645546372819}) { credential { id } } }",
            {},
        ),
    ],
)
async def test_a_mistyped_secret_is_not_logged(
    client: httpx.AsyncClient,
    issuer: TestIssuer,
    caplog: pytest.LogCaptureFixture,
    document: str,
    variables: dict[str, object],
) -> None:
    # Sent as a number or a bare literal, a secret is echoed by the coercion error to its sender; the log
    # line of that client error must not repeat it.
    caplog.set_level(logging.INFO)
    body = await gql(client, document, variables, token=issuer.token("acme", "admin"))
    assert body["errors"][0]["extensions"]["code"] in ("BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"), body
    assert str(NUMERIC_SECRET) in body["errors"][0]["message"]  # the control: the sender sees what it sent
    assert str(NUMERIC_SECRET) not in caplog.text


ACME = uid("org", "acme")


@pytest.mark.parametrize(
    "attack",
    [
        "UPDATE api_credentials SET status = 'active', revoked_at = NULL WHERE id = $1",
        "UPDATE api_credentials SET revoked_at = NULL WHERE id = $1",
        "UPDATE api_credentials SET version = 1 WHERE id = $1",
    ],
)
async def test_sql_as_the_request_login_cannot_revive_or_roll_back_a_credential(seeded: Stores, attack: str) -> None:
    # The grants let the login rotate (raise the version) and revoke; the history must only move forward.
    store = PostgresStore(seeded.app_url, max_size=1, timeout_s=5.0, system_url=seeded.system_url)
    await store.open()
    try:
        with pytest.raises(asyncpg.CheckViolationError):
            async with store.tenant_transaction(ACME, str(oid("org", "acme"))) as tx:
                credential = await tx.fetchval("SELECT id FROM api_credentials ORDER BY id LIMIT 1")
                # What rotateCredential and revokeCredential do, which must still work.
                await tx.execute(
                    "UPDATE api_credentials SET version = version + 1, rotated_at = now() WHERE id = $1", credential
                )
                await tx.execute(
                    "UPDATE api_credentials SET status = 'revoked', revoked_at = now() WHERE id = $1", credential
                )
                await tx.execute(attack, credential)
    finally:
        await store.close()


RUN_ACTIONS = {
    "archiveCampaign",
    "archiveCreative",
    "pauseCampaign",
    "pauseCampaigns",
    "pauseCreative",
    "pauseCreatives",
    "resumeCampaign",
    "resumeCreative",
    "resumeCreatives",
    "shiftBudget",
    "updateCampaign",
    "updateCampaignBudget",
}
ALL_SCOPES = "actions:write metrics:write brain:write workflows:run catalog:write"
# What each caller may run at all; every other mutation must be FORBIDDEN before it reads its input.
MAY_RUN = {
    "viewer": {"acceptInvitation"},
    "marketer": {"acceptInvitation", "requestSync", *RUN_ACTIONS},
    "partner": {
        *RUN_ACTIONS,
        "startSyncJob",
        "finishSyncJob",
        "ingestDailyMetrics",
        "publishBrainState",
        "runWorkflow",
        "cancelExecution",
        "retryExecution",
        "syncCatalog",
    },
}
ID_TYPES = ["Creative", "Campaign", "SyncJob", "ApiCredential", "Channel", "Workflow", "Agent", "Invitation"]
ID_TYPES += ["Member", "WorkflowExecution", "ScheduledWorkflow"]


@pytest.mark.parametrize("caller", sorted(MAY_RUN))
async def test_every_mutation_outside_a_callers_rights_is_forbidden(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores, caller: str
) -> None:
    # Every mutation of the schema, with unknown ids (nothing of the organization's is touched), in a fresh
    # organization: a partner holding every scope reaches no person-only mutation, a reader none but accepting.
    org = await new_org(seeded)
    token = org.partner(issuer, ALL_SCOPES) if caller == "partner" else org.person(issuer, caller)
    ids = Ids({name: unknown(name) for name in ID_TYPES}, 1)
    allowed = set()
    for name, input_type in mutation_inputs().items():
        variables = {"input": build_input(input_type, "-", "-", ids)}
        if "state" in input_type.fields:
            variables["input"]["state"] = {}
        document = f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ __typename }} }}"
        body = await gql(client, document, variables, token=token)
        codes_ = {e["extensions"]["code"] for e in body.get("errors") or []}
        assert codes_ <= {"FORBIDDEN"}, (name, body)
        if not codes_:
            allowed.add(name)
    assert allowed == MAY_RUN[caller]


REMOVE = "mutation($input: RemoveMemberInput!) { removeMember(input: $input) { removedMemberId userErrors { code } } }"


async def test_a_member_who_signs_in_with_a_brain_account_is_not_removed_in_name_only(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    # The seeded shape: one person, one OIDC subject, an account in each store.
    subject = str(uuid.uuid4())
    email = f"both-{subject[:8]}@{OPERATED}.example"
    account = {
        "_id": ObjectId(),
        "organization_id": str(oid("org", OPERATED)),
        "email": email,
        "name": "Both stores",
        "roles": ["analyst"],
        "oidc_subject": subject,
        "status": "active",
        "last_login_at": None,
    }
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(seeded.mongo_url, tz_aware=True)
    owner = await asyncpg.connect(seeded.database_url)
    try:
        await mongo[seeded.mongo_db].users.insert_one(account)
        await owner.execute(
            "INSERT INTO users (organization_id, auth_id, email, role) VALUES ($1, $2, $3, 'viewer')",
            uid("org", OPERATED),
            uuid.UUID(subject),
            email,
        )
        theirs = issuer.token(OPERATED, "analyst", sub=subject, email=email)
        assert "errors" not in await gql(client, "{ viewer { kind } }", token=theirs)
        # Deleting the enterprise account alone would leave the token working (the directory places the subject
        # by its Brain account, the role comes from the token): the removal says so instead of pretending.
        removed = await gql(
            client, REMOVE, {"input": {"memberId": member_gid(account["_id"])}}, token=issuer.token(OPERATED, "admin")
        )
        assert removed["data"]["removeMember"] == {"removedMemberId": None, "userErrors": [{"code": "BRAIN_ACCOUNT"}]}
        assert await mongo[seeded.mongo_db].users.find_one({"_id": account["_id"]}) is not None
        # Without the Brain account the same removal goes through.
        await owner.execute("DELETE FROM users WHERE auth_id = $1", uuid.UUID(subject))
        removed = await gql(
            client, REMOVE, {"input": {"memberId": member_gid(account["_id"])}}, token=issuer.token(OPERATED, "admin")
        )
        assert removed["data"]["removeMember"]["userErrors"] == [], removed
    finally:
        await owner.execute("DELETE FROM users WHERE auth_id = $1", uuid.UUID(subject))
        await mongo[seeded.mongo_db].users.delete_one({"_id": account["_id"]})
        await owner.close()
        await mongo.close()
