"""Operators manage AgentKit: agents, schedules, executions; partners with `workflows:run` run workflows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from gateway.data.ids import to_global_id
from gateway.ops.seed import oid
from tests.conftest import Stores
from tests.support.issuer import TestIssuer
from tests.support.operator import (
    ERRORS,
    ORG,
    Db,
    codes,
    error_code,
    events,
    mutate,
    raw,
    result,
    snapshot,
    unique,
)
from tests.support.servers import ServerThread
from tests.test_subscriptions import EXECUTIONS, next_event, settle, socket

AGENT_FIELDS = "agent { id name kind model config enabled }"
CREATE_AGENT = f"""mutation($input: CreateAgentInput!) {{ createAgent(input: $input) {{ {AGENT_FIELDS} {ERRORS} }} }}"""
UPDATE_AGENT = f"""mutation($input: UpdateAgentInput!) {{ updateAgent(input: $input) {{ {AGENT_FIELDS} {ERRORS} }} }}"""
ENABLE = (
    f"""mutation($input: SetAgentEnabledInput!) {{ setAgentEnabled(input: $input) {{ {AGENT_FIELDS} {ERRORS} }} }}"""
)
CREATE = (
    f"""mutation($input: CreateWorkflowInput!) {{ createWorkflow(input: $input) {{ workflow {{ id }} {ERRORS} }} }}"""
)
UPDATE = (
    f"""mutation($input: UpdateWorkflowInput!) {{ updateWorkflow(input: $input) {{ workflow {{ id }} {ERRORS} }} }}"""
)
EXECUTION = "execution { id status input triggeredBy finishedAt retryOf { id status } workflow { id } }"
RUN = f"""mutation($input: RunWorkflowInput!) {{ runWorkflow(input: $input) {{ {EXECUTION} quota {{ used }} {ERRORS} }} }}"""
CANCEL = f"""mutation($input: ExecutionInput!) {{ cancelExecution(input: $input) {{ {EXECUTION} quota {{ used }} {ERRORS} }} }}"""
RETRY = f"""mutation($input: ExecutionInput!) {{ retryExecution(input: $input) {{ {EXECUTION} quota {{ used }} {ERRORS} }} }}"""
SCHEDULE = f"""mutation($input: SetWorkflowScheduleInput!) {{ setWorkflowSchedule(input: $input) {{
  schedule {{ id }} {ERRORS} }} }}"""
# A partner reads no enterprise records: only the run's own fields (not its workflow) answer.
OWN = f"execution {{ id status triggeredBy }} {ERRORS}"
PARTNER_RUN = f"""mutation($input: RunWorkflowInput!) {{ runWorkflow(input: $input) {{ {OWN} quota {{ used }} }} }}"""
PARTNER_CANCEL = f"""mutation($input: ExecutionInput!) {{ cancelExecution(input: $input) {{ {OWN} }} }}"""
UNSCHEDULE = f"""mutation($input: DeleteWorkflowScheduleInput!) {{ deleteWorkflowSchedule(input: $input) {{
  deletedScheduleId {ERRORS} }} }}"""


@pytest.fixture
async def db(seeded: Stores) -> AsyncIterator[Db]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(seeded.mongo_url, tz_aware=True)
    yield client[seeded.mongo_db]
    await client.close()


def admin(issuer: TestIssuer) -> str:
    return issuer.token(ORG, "admin")


def partner(issuer: TestIssuer, scope: str) -> str:
    return issuer.token(ORG, "owner", sub="partner-runner", azp="partner-runner", scope=scope, email=None)


def seeded_agent(i: int, org: str = ORG) -> str:
    return to_global_id("Agent", oid("agent", org, i))


async def new_agent(client: httpx.AsyncClient, issuer: TestIssuer) -> dict[str, Any]:
    body = await mutate(client, CREATE_AGENT, admin(issuer), name=unique("Agent"), kind="monitor", model="gpt-4o")
    agent = result(body)["agent"]
    assert isinstance(agent, dict)
    return agent


async def active_workflow(client: httpx.AsyncClient, issuer: TestIssuer, agent_id: str) -> str:
    steps = [{"agentId": agent_id, "action": "analyze"}]
    created = result(await mutate(client, CREATE, admin(issuer), name=unique("Workflow"), steps=steps))
    workflow_id: str = created["workflow"]["id"]
    activated = await mutate(client, UPDATE, admin(issuer), workflowId=workflow_id, expectedVersion=1, status="ACTIVE")
    assert result(activated)["userErrors"] == []
    return workflow_id


async def run(client: httpx.AsyncClient, bearer: str, workflow_id: str) -> dict[str, Any]:
    body = await mutate(client, RUN, bearer, workflowId=workflow_id, input={"window": "1d"})
    assert result(body)["userErrors"] == [], body
    return result(body)


# --- agents --------------------------------------------------------------------------------


async def test_create_and_update_an_agent(client: httpx.AsyncClient, issuer: TestIssuer, db: Db) -> None:
    body = await mutate(
        client, CREATE_AGENT, admin(issuer), name=" Spend Guard ", kind="monitor", model="gpt-4o", config={"t": 0.1}
    )
    agent = result(body)["agent"]
    assert agent["name"] == "Spend Guard" and agent["enabled"] is True and agent["config"] == {"t": 0.1}
    assert len(await events(db, raw(agent["id"]), "agent.created")) == 1
    body = await mutate(client, UPDATE_AGENT, admin(issuer), agentId=agent["id"], model="claude-sonnet")
    updated = result(body)["agent"]
    assert updated["model"] == "claude-sonnet" and updated["name"] == "Spend Guard"
    stored = await db.agentkit_agents.find_one({"_id": raw(agent["id"])})
    assert stored is not None and stored["model"] == "claude-sonnet" and stored.get("pending_audit_count", 0) == 0
    assert len(await events(db, raw(agent["id"]), "agent.updated")) == 1


@pytest.mark.parametrize(
    ("document", "fields", "code"),
    [
        (CREATE_AGENT, {"name": " ", "kind": "monitor", "model": "gpt-4o"}, "INVALID_NAME"),
        (CREATE_AGENT, {"name": "A", "kind": "k" * 51, "model": "gpt-4o"}, "INVALID_KIND"),
        (CREATE_AGENT, {"name": "A", "kind": "monitor", "model": ""}, "INVALID_MODEL"),
        (CREATE_AGENT, {"name": "A", "kind": "monitor", "model": "m", "config": [1]}, "INVALID_JSON"),
        (UPDATE_AGENT, {"agentId": seeded_agent(0)}, "NOTHING_TO_UPDATE"),
        (UPDATE_AGENT, {"agentId": seeded_agent(0, "acme"), "name": "Mine now"}, "NOT_FOUND"),
        (UPDATE_AGENT, {"agentId": to_global_id("Workflow", oid("workflow", ORG, 0)), "name": "X"}, "INVALID_ID"),
        (ENABLE, {"agentId": seeded_agent(1, "acme"), "enabled": False}, "NOT_FOUND"),
    ],
)
async def test_agent_rejections_change_nothing(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db, document: str, fields: dict[str, Any], code: str
) -> None:
    before = await snapshot(db, "agentkit_agents")
    body = await mutate(client, document, admin(issuer), **fields)
    assert codes(body) == [code] and result(body)["agent"] is None
    assert await snapshot(db, "agentkit_agents") == before


async def test_a_disabled_agent_stops_its_workflows(client: httpx.AsyncClient, issuer: TestIssuer, db: Db) -> None:
    agent = await new_agent(client, issuer)
    workflow_id = await active_workflow(client, issuer, agent["id"])
    off = result(await mutate(client, ENABLE, admin(issuer), agentId=agent["id"], enabled=False))
    assert off["agent"]["enabled"] is False and len(await events(db, raw(agent["id"]), "agent.disabled")) == 1
    before = await snapshot(db, "agentkit_executions")
    body = await mutate(client, RUN, admin(issuer), workflowId=workflow_id)
    assert codes(body) == ["AGENT_DISABLED"] and result(body)["execution"] is None
    assert await snapshot(db, "agentkit_executions") == before
    assert result(await mutate(client, ENABLE, admin(issuer), agentId=agent["id"], enabled=True))["userErrors"] == []
    assert (await run(client, admin(issuer), workflow_id))["execution"]["status"] == "QUEUED"


@pytest.mark.parametrize("role", ["marketer", "analyst", "viewer"])
async def test_agents_and_schedules_are_managed_by_admins_only(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db, role: str
) -> None:
    before = await snapshot(db, "agentkit_agents", "scheduled_workflows")
    bearer = issuer.token(ORG, role)
    schedule_id = to_global_id("ScheduledWorkflow", oid("schedule", ORG, 0))
    for document, fields in [
        (CREATE_AGENT, {"name": "A", "kind": "k", "model": "m"}),
        (UPDATE_AGENT, {"agentId": seeded_agent(0), "name": "B"}),
        (ENABLE, {"agentId": seeded_agent(0), "enabled": False}),
        (UNSCHEDULE, {"scheduledWorkflowId": schedule_id}),
    ]:
        assert error_code(await mutate(client, document, bearer, **fields)) == "FORBIDDEN", document
    assert await snapshot(db, "agentkit_agents", "scheduled_workflows") == before


# --- schedules -----------------------------------------------------------------------------


async def test_delete_a_workflow_schedule(client: httpx.AsyncClient, issuer: TestIssuer, db: Db) -> None:
    workflow_id = await active_workflow(client, issuer, seeded_agent(0))
    body = await mutate(
        client, SCHEDULE, admin(issuer), workflowId=workflow_id, cron="0 6 * * *", timezone="UTC", enabled=True
    )
    schedule_id = result(body)["schedule"]["id"]
    key = unique("unschedule")
    body = await mutate(client, UNSCHEDULE, admin(issuer), scheduledWorkflowId=schedule_id, idempotencyKey=key)
    assert result(body) == {"deletedScheduleId": schedule_id, "userErrors": []}
    assert await db.scheduled_workflows.find_one({"_id": raw(schedule_id)}) is None
    (event,) = await events(db, raw(schedule_id), "workflow.schedule_deleted")
    assert event["details"]["workflowId"] == str(raw(workflow_id))
    assert await mutate(client, UNSCHEDULE, admin(issuer), scheduledWorkflowId=schedule_id, idempotencyKey=key) == body
    assert codes(await mutate(client, UNSCHEDULE, admin(issuer), scheduledWorkflowId=schedule_id)) == ["NOT_FOUND"]


@pytest.mark.parametrize(
    ("schedule_id", "code"),
    [
        (to_global_id("ScheduledWorkflow", oid("schedule", "acme", 0)), "NOT_FOUND"),
        (to_global_id("Workflow", oid("workflow", ORG, 0)), "INVALID_ID"),
    ],
)
async def test_delete_schedule_rejections_change_nothing(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db, schedule_id: str, code: str
) -> None:
    before = await snapshot(db, "scheduled_workflows")
    assert codes(await mutate(client, UNSCHEDULE, admin(issuer), scheduledWorkflowId=schedule_id)) == [code]
    assert await snapshot(db, "scheduled_workflows") == before


# --- executions ----------------------------------------------------------------------------


async def test_cancel_then_retry_an_execution(client: httpx.AsyncClient, issuer: TestIssuer, db: Db) -> None:
    workflow_id = await active_workflow(client, issuer, seeded_agent(0))
    queued = (await run(client, admin(issuer), workflow_id))["execution"]
    key = unique("cancel")
    body = await mutate(client, CANCEL, admin(issuer), workflowExecutionId=queued["id"], idempotencyKey=key)
    cancelled = result(body)
    assert cancelled["userErrors"] == [] and cancelled["execution"]["status"] == "CANCELLED"
    assert cancelled["execution"]["finishedAt"] is not None and cancelled["quota"] is None
    assert len(await events(db, raw(queued["id"]), "workflow.execution_cancelled")) == 1
    assert await mutate(client, CANCEL, admin(issuer), workflowExecutionId=queued["id"], idempotencyKey=key) == body
    assert codes(await mutate(client, CANCEL, admin(issuer), workflowExecutionId=queued["id"])) == ["NOT_CANCELLABLE"]

    retried = result(await mutate(client, RETRY, admin(issuer), workflowExecutionId=queued["id"]))
    assert retried["userErrors"] == []
    again = retried["execution"]
    assert again["id"] != queued["id"] and again["status"] == "QUEUED" and again["input"] == {"window": "1d"}
    assert again["retryOf"] == {"id": queued["id"], "status": "CANCELLED"}
    assert again["workflow"]["id"] == workflow_id and retried["quota"]["used"] >= 1
    stored = await db.agentkit_executions.find_one({"_id": raw(again["id"])})
    assert stored is not None and stored["retry_of"] == str(raw(queued["id"]))
    (event,) = await events(db, raw(again["id"]), "workflow.run")
    assert event["details"]["retryOf"] == str(raw(queued["id"]))
    # The retry can itself be cancelled, and the running one was never touched.
    assert result(await mutate(client, CANCEL, admin(issuer), workflowExecutionId=again["id"]))["userErrors"] == []


@pytest.mark.parametrize(
    ("document", "execution", "code"),
    [
        (CANCEL, (ORG, 0, 1), "NOT_CANCELLABLE"),  # seeded: succeeded
        (CANCEL, (ORG, 0, 0), "NOT_CANCELLABLE"),  # failed
        (RETRY, (ORG, 0, 1), "NOT_RETRYABLE"),  # succeeded
        (RETRY, (ORG, 0, 6), "NOT_RETRYABLE"),  # running
        (CANCEL, ("acme", 0, 6), "NOT_FOUND"),  # another organization's running one
        (RETRY, ("acme", 0, 0), "NOT_FOUND"),  # another organization's failed one
    ],
)
async def test_execution_rejections_change_nothing(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db, document: str, execution: tuple[str, int, int], code: str
) -> None:
    before = await snapshot(db, "agentkit_executions", "usage_quotas")
    execution_id = to_global_id("WorkflowExecution", oid("execution", *execution))
    body = await mutate(client, document, admin(issuer), workflowExecutionId=execution_id)
    assert codes(body) == [code] and result(body)["execution"] is None
    assert await snapshot(db, "agentkit_executions", "usage_quotas") == before


async def test_retry_of_a_workflow_that_no_longer_runs(client: httpx.AsyncClient, issuer: TestIssuer, db: Db) -> None:
    # Seeded workflow 7 is archived; its failed run cannot run again.
    execution_id = to_global_id("WorkflowExecution", oid("execution", ORG, 7, 0))
    before = await snapshot(db, "agentkit_executions")
    assert codes(await mutate(client, RETRY, admin(issuer), workflowExecutionId=execution_id)) == [
        "WORKFLOW_NOT_ACTIVE"
    ]
    assert await snapshot(db, "agentkit_executions") == before


# --- partners ------------------------------------------------------------------------------


async def test_a_partner_with_workflows_run_runs_workflows(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db
) -> None:
    workflow_id = await active_workflow(client, issuer, seeded_agent(0))
    runner = partner(issuer, "workflows:run")
    ran = result(await mutate(client, PARTNER_RUN, runner, workflowId=workflow_id))
    execution = ran["execution"]
    assert ran["userErrors"] == [] and execution["triggeredBy"] == "API" and execution["status"] == "QUEUED"
    stored = await db.agentkit_executions.find_one({"_id": raw(execution["id"])})
    assert stored is not None and stored["triggered_by_actor"] == {
        "kind": "partner",
        "id": "partner-runner",
        "email": None,
    }
    cancelled = result(await mutate(client, PARTNER_CANCEL, runner, workflowExecutionId=execution["id"]))
    assert cancelled["userErrors"] == [] and cancelled["execution"]["status"] == "CANCELLED"
    # Reading the workflow it ran is still not the partner's to do.
    body = await mutate(client, RUN, runner, workflowId=workflow_id)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # The scope runs workflows, nothing else.
    steps = [{"agentId": seeded_agent(0), "action": "analyze"}]
    assert error_code(await mutate(client, CREATE, runner, name="Partner's", steps=steps)) == "FORBIDDEN"
    assert error_code(await mutate(client, CREATE_AGENT, runner, name="A", kind="k", model="m")) == "FORBIDDEN"


@pytest.mark.parametrize("scope", ["actions:write", "metrics:write"])
async def test_other_partner_scopes_cannot_run_workflows(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db, scope: str
) -> None:
    before = await snapshot(db, "agentkit_executions")
    workflow_id = to_global_id("Workflow", oid("workflow", ORG, 0))
    body = await mutate(client, RUN, partner(issuer, scope), workflowId=workflow_id)
    assert error_code(body) == "FORBIDDEN"
    assert "workflows:run" in body["errors"][0]["message"]
    assert await snapshot(db, "agentkit_executions") == before


@pytest.mark.parametrize("role", ["marketer", "analyst", "viewer"])
async def test_executions_are_run_by_admins_only(client: httpx.AsyncClient, issuer: TestIssuer, role: str) -> None:
    execution_id = to_global_id("WorkflowExecution", oid("execution", ORG, 0, 0))
    for document in (CANCEL, RETRY):
        body = await mutate(client, document, issuer.token(ORG, role), workflowExecutionId=execution_id)
        assert error_code(body) == "FORBIDDEN"


async def test_cancel_and_retry_reach_execution_subscribers(
    gateway: ServerThread, client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    workflow_id = await active_workflow(client, issuer, seeded_agent(0))
    async with socket(gateway.url, issuer.token(ORG, "viewer")) as sub:
        await sub.subscribe("runs", EXECUTIONS, {})
        await settle()
        queued = (await run(client, admin(issuer), workflow_id))["execution"]
        assert (await next_event(sub, "runs", within=30))["workflowExecutionUpdated"]["status"] == "QUEUED"
        assert result(await mutate(client, CANCEL, admin(issuer), workflowExecutionId=queued["id"]))["userErrors"] == []
        cancelled = (await next_event(sub, "runs", within=30))["workflowExecutionUpdated"]
        assert cancelled["id"] == queued["id"] and cancelled["status"] == "CANCELLED"
        retried = result(await mutate(client, RETRY, admin(issuer), workflowExecutionId=queued["id"]))["execution"]
        again = (await next_event(sub, "runs", within=30))["workflowExecutionUpdated"]
        assert again["id"] == retried["id"] and again["status"] == "QUEUED"
        assert again["workflow"]["id"] == workflow_id
