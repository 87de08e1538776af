"""The MongoDB half of the schema over HTTP, against the seeded stores (see `gateway.ops.seed`).

Per organization the seed holds 13 enterprise users and 8 Brain users (5 people
in both), 5 agents, 8 workflows x 15 executions, 4 schedules, 200 audit logs,
15 compliance checks, 3 quotas and 6 invitations. Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from gateway.data.enterprise import agents
from gateway.data.enterprise.query import ordering
from gateway.data.ids import from_global_id, to_global_id
from gateway.data.paging import encode_cursor
from gateway.http.app import create_app
from gateway.ops.embedded import free_port
from gateway.ops.seed import seed_subject
from resolvers.schema import schema
from tests.conftest import Stores, gateway_settings, gql
from tests.support.issuer import TestIssuer
from tests.support.servers import ServerThread

TODAY = dt.datetime.now(dt.UTC).date()
AGENTS_BY_NAME = ["Anomaly Watcher", "Audience Builder", "Budget Optimizer", "Creative Analyst", "Report Writer"]
ENTERPRISE_ONLY = [f"analyst{i}@acme.example" for i in range(1, 9)]
BRAIN_ONLY = [f"marketer{i}@acme.example" for i in range(1, 4)]
IN_BOTH = [f"{role}@acme.example" for role in ("owner", "admin", "marketer", "analyst", "viewer")]


# --- helpers ------------------------------------------------------------------------------------


async def org_data(
    client: httpx.AsyncClient,
    issuer: TestIssuer,
    fields: str,
    variables: dict[str, Any] | None = None,
    *,
    params: str = "",
    org: str = "acme",
) -> dict[str, Any]:
    """`organization { <fields> }` for an admin of `org`; `params` declares the variables. Fails on any error."""
    query = f"query Q{f'({params})' if params else ''} {{ organization {{ {fields} }} }}"
    body = await gql(client, query, variables, token=issuer.token(org, "admin"))
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]["organization"]
    return data


async def error_code(client: httpx.AsyncClient, issuer: TestIssuer, fields: str) -> str:
    body = await gql(client, f"{{ organization {{ {fields} }} }}", token=issuer.token("acme", "admin"))
    assert body.get("errors"), body
    code: str = body["errors"][0]["extensions"]["code"]
    return code


def nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection["edges"]]


PAGE = "totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { name } }"


async def agent_page(client: httpx.AsyncClient, issuer: TestIssuer, args: str) -> dict[str, Any]:
    data = await org_data(client, issuer, f"agents({args}) {{ {PAGE} }}")
    page: dict[str, Any] = data["agents"]
    return page


def names(page: dict[str, Any]) -> list[str]:
    return [node["name"] for node in nodes(page)]


# --- billing ------------------------------------------------------------------------------------


async def test_subscription_is_the_current_one(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    data = await org_data(
        client,
        issuer,
        "subscription { id plan status seats price { amount currency } currentPeriodStart currentPeriodEnd }",
    )
    sub = data["subscription"]
    assert (sub["plan"], sub["status"], sub["seats"]) == ("ENTERPRISE", "ACTIVE", 100)
    assert sub["price"] == {"amount": "1499.00", "currency": "USD"}
    assert sub["currentPeriodStart"] < sub["currentPeriodEnd"]
    assert from_global_id(sub["id"])[0] == "BillingSubscription"


# --- agents and paging --------------------------------------------------------------------------


async def test_agents_by_name_with_every_field(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    data = await org_data(
        client, issuer, "agents { totalCount edges { node { id name kind model config enabled createdAt } } }"
    )
    agents = nodes(data["agents"])
    assert data["agents"]["totalCount"] == 5
    assert [a["name"] for a in agents] == AGENTS_BY_NAME
    builder = agents[1]
    assert (builder["kind"], builder["enabled"]) == ("planner", False)
    assert builder["model"] in {"gpt-4o", "claude-sonnet", "llama-3-70b"}
    assert set(builder["config"]) == {"temperature"}
    assert all(from_global_id(a["id"])[0] == "Agent" for a in agents)


async def test_agents_filters_and_newest_first(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    disabled = await agent_page(client, issuer, "filter: {enabled: false}")
    assert (disabled["totalCount"], names(disabled)) == (1, ["Audience Builder"])
    enabled = await agent_page(client, issuer, "filter: {enabled: true}")
    assert enabled["totalCount"] == 4
    # Case-insensitive substring, and the text is not a regular expression.
    assert names(await agent_page(client, issuer, 'filter: {nameContains: "AN"}')) == [
        "Anomaly Watcher",
        "Creative Analyst",
    ]
    assert (await agent_page(client, issuer, 'filter: {nameContains: ".*("}'))["totalCount"] == 0
    newest = await agent_page(client, issuer, "orderBy: {field: CREATED_AT, direction: DESC}")
    assert names(newest) == [
        "Audience Builder",
        "Report Writer",
        "Anomaly Watcher",
        "Creative Analyst",
        "Budget Optimizer",
    ]


async def test_paging_forward_to_the_exact_last_page(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    first = await agent_page(client, issuer, "first: 2")
    assert names(first) == AGENTS_BY_NAME[:2]
    assert first["pageInfo"]["hasNextPage"] and not first["pageInfo"]["hasPreviousPage"]
    assert first["totalCount"] == 5
    rest = await agent_page(client, issuer, f'first: 3, after: "{first["pageInfo"]["endCursor"]}"')
    assert names(rest) == AGENTS_BY_NAME[2:]
    assert not rest["pageInfo"]["hasNextPage"] and rest["pageInfo"]["hasPreviousPage"]
    beyond = await agent_page(client, issuer, f'first: 3, after: "{rest["pageInfo"]["endCursor"]}"')
    assert beyond["edges"] == [] and not beyond["pageInfo"]["hasNextPage"]
    assert beyond["pageInfo"]["startCursor"] is None and beyond["totalCount"] == 5


async def test_paging_backward_and_empty_pages(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    tail = await agent_page(client, issuer, "last: 2")
    assert names(tail) == AGENTS_BY_NAME[3:]
    assert tail["pageInfo"]["hasPreviousPage"] and not tail["pageInfo"]["hasNextPage"]
    before = await agent_page(client, issuer, f'last: 2, before: "{tail["pageInfo"]["startCursor"]}"')
    assert names(before) == AGENTS_BY_NAME[1:3]
    empty = await agent_page(client, issuer, "first: 0")
    assert empty["edges"] == [] and empty["pageInfo"]["hasNextPage"] and empty["totalCount"] == 5
    assert (await agent_page(client, issuer, "last: 0"))["edges"] == []
    assert names(await agent_page(client, issuer, "first: 100")) == AGENTS_BY_NAME


@pytest.mark.parametrize(
    "args",
    [
        'after: "not a cursor"',
        f'before: "{encode_cursor("Organization.agents", ordering((), agents.BY_NAME, agents.KINDS), ("A", "not-an-object-id"))}"',
        "first: 101",
        "last: 101",
        "first: -1",
        "first: 1, last: 1",
    ],
)
async def test_bad_paging_arguments_are_bad_user_input(
    client: httpx.AsyncClient, issuer: TestIssuer, args: str
) -> None:
    assert await error_code(client, issuer, f"agents({args}) {{ totalCount }}") == "BAD_USER_INPUT"


async def test_a_cursor_of_another_connection_is_refused(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    data = await org_data(client, issuer, "workflows(first: 1) { pageInfo { endCursor } }")
    cursor = data["workflows"]["pageInfo"]["endCursor"]
    assert await error_code(client, issuer, f'agents(after: "{cursor}") {{ totalCount }}') == "BAD_USER_INPUT"


# --- workflows ----------------------------------------------------------------------------------

WORKFLOW = """
  id name description version status createdAt updatedAt
  steps { action params agent { name } }
  schedule { cron timezone enabled workflow { name } }
"""


async def test_workflows_with_steps_and_schedules(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    data = await org_data(client, issuer, f"workflows {{ totalCount edges {{ node {{ {WORKFLOW} }} }} }}")
    workflows = nodes(data["workflows"])
    assert data["workflows"]["totalCount"] == 8
    assert [w["name"][:10] for w in workflows] == [f"Workflow {n}" for n in range(1, 9)]
    third = workflows[2]
    assert [s["agent"]["name"] for s in third["steps"]] == ["Anomaly Watcher", "Report Writer", "Audience Builder"]
    assert all(set(s["params"]) == {"lookback_days"} for s in third["steps"])
    assert [len(w["steps"]) for w in workflows] == [1 + w % 3 for w in range(8)]
    # Workflows 1 to 4 are scheduled, and each schedule points back at its workflow.
    schedules = [w["schedule"] for w in workflows]
    assert all(
        s is not None and s["workflow"]["name"] == w["name"] for s, w in zip(schedules[:4], workflows, strict=False)
    )
    assert schedules[4:] == [None] * 4
    assert schedules[0]["cron"] == "0 6 * * *"
    assert [w["status"] for w in workflows] == ["ACTIVE"] * 5 + ["DRAFT"] * 2 + ["ARCHIVED"]


async def test_workflow_filters_and_orderings(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    data = await org_data(
        client,
        issuer,
        """
        drafts: workflows(filter: {status: [DRAFT, ARCHIVED]}) { totalCount }
        budget: workflows(filter: {nameContains: "budget"}) { edges { node { name } } }
        edited: workflows(orderBy: {field: UPDATED_AT, direction: DESC}, first: 2) { edges { node { name } } }
        created: workflows(orderBy: {field: CREATED_AT, direction: DESC}, first: 2) { edges { node { name } } }
        """,
    )
    assert data["drafts"]["totalCount"] == 3
    assert [n["name"] for n in nodes(data["budget"])] == [
        "Workflow 1: Budget Optimizer loop",
        "Workflow 6: Budget Optimizer loop",
    ]
    assert [n["name"][:10] for n in nodes(data["edited"])] == ["Workflow 1", "Workflow 2"]
    assert [n["name"][:10] for n in nodes(data["created"])] == ["Workflow 8", "Workflow 7"]


async def test_each_workflow_pages_its_own_executions(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    data = await org_data(
        client,
        issuer,
        """
        workflows { edges { node { id
          recent: executions(first: 3) { totalCount pageInfo { hasNextPage endCursor } edges { node { id status } } }
          oldest: executions(last: 2) { edges { node { id } } }
          all: executions(first: 15) { edges { node { id startedAt workflow { id } } } }
          failed: executions(filter: {status: [FAILED]}) { totalCount }
          running: executions(filter: {status: [RUNNING]}) { totalCount edges { node { finishedAt } } }
        } } }
        """,
    )
    for workflow in nodes(data["workflows"]):
        everything = nodes(workflow["all"])
        assert len(everything) == 15 and workflow["recent"]["totalCount"] == 15
        assert all(e["workflow"]["id"] == workflow["id"] for e in everything)
        started = [e["startedAt"] for e in everything]
        assert started == sorted(started, reverse=True)
        ids = [e["id"] for e in everything]
        assert [e["id"] for e in nodes(workflow["recent"])] == ids[:3]
        assert [e["id"] for e in nodes(workflow["oldest"])] == ids[-2:]
        assert nodes(workflow["recent"])[0]["status"] == "FAILED"  # the newest run of each workflow failed
        assert workflow["recent"]["pageInfo"]["hasNextPage"]
        assert workflow["failed"]["totalCount"] == 2
        assert workflow["running"]["totalCount"] == 1
        assert nodes(workflow["running"])[0]["finishedAt"] is None

    # A nested page continues where its cursor points.
    first = nodes(data["workflows"])[0]
    cursor = first["recent"]["pageInfo"]["endCursor"]
    more = await gql(
        client,
        "query($id: ID!, $after: String) { node(id: $id) { ... on Workflow { executions(first: 3, after: $after) "
        "{ edges { node { id } } } } } }",
        {"id": first["id"], "after": cursor},
        token=issuer.token("acme", "admin"),
    )
    assert [e["node"]["id"] for e in more["data"]["node"]["executions"]["edges"]] == [
        e["id"] for e in nodes(first["all"])[3:6]
    ]


# --- executions and schedules -------------------------------------------------------------------


async def test_executions_newest_first_with_filters(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    data = await org_data(
        client,
        issuer,
        """
        workflows(first: 1) { edges { node { id name } } }
        executions(first: 100) { totalCount edges { node { id status input output error triggeredBy startedAt finishedAt
          workflow { name } } } }
        failed: executions(filter: {status: [FAILED]}) { totalCount edges { node { error output } } }
        done: executions(filter: {status: [SUCCEEDED, FAILED]}) { totalCount }
        """,
    )
    executions = nodes(data["executions"])
    assert data["executions"]["totalCount"] == 120 and len(executions) == 100
    started = [e["startedAt"] for e in executions]
    assert started == sorted(started, reverse=True)
    assert executions[0]["workflow"]["name"] == nodes(data["workflows"])[0]["name"]
    assert executions[0]["input"] == {"window": "7d"}
    assert data["failed"]["totalCount"] == 16 and data["done"]["totalCount"] == 112
    assert all(e["error"] == "agent timed out" and e["output"] is None for e in nodes(data["failed"]))
    assert {e["triggeredBy"] for e in executions} <= {"SCHEDULE", "USER", "API"}

    workflow_id = nodes(data["workflows"])[0]["id"]
    one = await org_data(
        client, issuer, "executions(filter: {workflowId: $id}) { totalCount }", {"id": workflow_id}, params="$id: ID!"
    )
    assert one["executions"]["totalCount"] == 15


async def test_executions_workflow_filter_needs_a_workflow_id(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    agent_id = to_global_id("Agent", "0" * 24)
    fields = f'executions(filter: {{workflowId: "{agent_id}"}}) {{ totalCount }}'
    assert await error_code(client, issuer, fields) == "BAD_USER_INPUT"
    assert (
        await error_code(client, issuer, 'executions(filter: {workflowId: "%%%"}) { totalCount }') == "BAD_USER_INPUT"
    )


async def test_scheduled_workflows(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    data = await org_data(
        client,
        issuer,
        "scheduledWorkflows { totalCount edges { node { id cron timezone enabled nextRunAt lastRunAt "
        "workflow { name schedule { id } } } } }",
    )
    schedules = nodes(data["scheduledWorkflows"])
    assert data["scheduledWorkflows"]["totalCount"] == 4
    assert sum(s["enabled"] for s in schedules) == 3
    assert {s["timezone"] for s in schedules} == {"UTC", "Europe/Berlin", "America/New_York"}
    assert all(s["workflow"]["schedule"]["id"] == s["id"] for s in schedules)
    assert all(s["lastRunAt"] < s["nextRunAt"] for s in schedules)


# --- audit and compliance -----------------------------------------------------------------------

AUDIT = "totalCount edges { node { id action actor { kind id email } targetRef { type id } details requestId eventId createdAt } }"


async def test_audit_logs_newest_first(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    data = await org_data(client, issuer, f"auditLogs(first: 100) {{ {AUDIT} }}")
    logs = nodes(data["auditLogs"])
    assert data["auditLogs"]["totalCount"] == 200
    times = [log["createdAt"] for log in logs]
    assert times == sorted(times, reverse=True) and len(set(times)) == 100
    newest = logs[0]
    assert newest["details"] == {"seq": 0} and newest["requestId"] == "seed-0"
    assert newest["actor"] == {"kind": "USER", "id": seed_subject("acme", "owner"), "email": "owner@acme.example"}
    assert newest["targetRef"]["type"] == "Organization"
    assert len({log["eventId"] for log in logs}) == 100


async def test_audit_log_filters(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    newest = await org_data(client, issuer, "auditLogs(first: 1) { edges { node { createdAt } } }")
    anchor = dt.datetime.fromisoformat(nodes(newest["auditLogs"])[0]["createdAt"])
    # Entries are 12 hours apart: [anchor-5d, anchor-2d) holds entries 5 to 10.
    window = {"from": (anchor - dt.timedelta(days=5)).isoformat(), "to": (anchor - dt.timedelta(days=2)).isoformat()}
    data = await org_data(
        client,
        issuer,
        f"""
        logins: auditLogs(filter: {{action: "user.login"}}) {{ totalCount }}
        owner: auditLogs(filter: {{actorId: "{seed_subject("acme", "owner")}"}}) {{ totalCount }}
        both: auditLogs(filter: {{action: "user.login", actorId: "{seed_subject("acme", "owner")}"}}) {{ totalCount }}
        window: auditLogs(filter: {{createdAt: {{from: "{window["from"]}", to: "{window["to"]}"}}}}) {{ {AUDIT} }}
        since: auditLogs(filter: {{createdAt: {{from: "{window["from"]}"}}}}) {{ totalCount }}
        """,
    )
    assert data["logins"]["totalCount"] == 34  # every 6th of 200
    assert data["owner"]["totalCount"] == 40  # every 5th
    assert data["both"]["totalCount"] == 7  # every 30th
    assert [log["details"]["seq"] for log in nodes(data["window"])] == list(range(5, 11))
    assert data["since"]["totalCount"] == 11


async def test_audit_log_range_must_not_be_reversed(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    fields = 'auditLogs(filter: {createdAt: {from: "2026-02-01T00:00:00Z", to: "2026-01-01T00:00:00Z"}}) { totalCount }'
    assert await error_code(client, issuer, fields) == "BAD_USER_INPUT"


async def test_compliance_checks(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    data = await org_data(
        client,
        issuer,
        """
        all: complianceChecks { totalCount edges { node { id framework control status evidence checkedAt } } }
        soc2: complianceChecks(filter: {framework: [SOC2]}) { edges { node { control } } }
        passing: complianceChecks(filter: {status: [PASSING]}) { totalCount }
        notPassing: complianceChecks(filter: {status: [FAILING, PENDING]}) { totalCount }
        gdprPassing: complianceChecks(filter: {framework: [GDPR], status: [PASSING]}) { edges { node { framework status } } }
        """,
    )
    checks = nodes(data["all"])
    assert data["all"]["totalCount"] == 15
    assert [c["framework"] for c in checks] == ["GDPR"] * 5 + ["HIPAA"] * 5 + ["SOC2"] * 5
    assert [c["control"] for c in nodes(data["soc2"])] == ["A1.2", "CC6.1", "CC6.6", "CC7.2", "CC8.1"]
    assert data["passing"]["totalCount"] + data["notPassing"]["totalCount"] == 15
    assert all(c == {"framework": "GDPR", "status": "PASSING"} for c in nodes(data["gdprPassing"]))
    assert checks[0]["evidence"].startswith("Automated check of")


# --- analytics and quotas -----------------------------------------------------------------------

ANALYTICS = (
    "analytics(metric: $metric, period: $period, from: $from, to: $to) { id metric dimensions period date value }"
)


async def analytics(
    client: httpx.AsyncClient, issuer: TestIssuer, metric: str, period: str, start: dt.date, end: dt.date
) -> dict[str, Any]:
    query = f"query($metric: String!, $period: AnalyticsPeriod!, $from: Date!, $to: Date!) {{ organization {{ {ANALYTICS} }} }}"
    variables = {"metric": metric, "period": period, "from": start.isoformat(), "to": end.isoformat()}
    return await gql(client, query, variables, token=issuer.token("acme", "admin"))


async def test_daily_and_weekly_analytics(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    daily = (await analytics(client, issuer, "sessions", "DAY", TODAY - dt.timedelta(days=6), TODAY))["data"]
    points = daily["organization"]["analytics"]
    assert [p["date"] for p in points] == [(TODAY - dt.timedelta(days=d)).isoformat() for d in range(6, -1, -1)]
    assert all(p["metric"] == "sessions" and p["period"] == "DAY" and p["value"] > 0 for p in points)
    assert points[0]["dimensions"] == {"source": "all"}

    start = TODAY - dt.timedelta(days=27)
    weekly = (await analytics(client, issuer, "signups", "WEEK", start, TODAY))["data"]["organization"]["analytics"]
    mondays = [start + dt.timedelta(days=d) for d in range(28) if (start + dt.timedelta(days=d)).weekday() == 0]
    assert [p["date"] for p in weekly] == [m.isoformat() for m in mondays]

    monthly = (await analytics(client, issuer, "mrr_cents", "MONTH", TODAY - dt.timedelta(days=120), TODAY))["data"]
    assert [dt.date.fromisoformat(p["date"]).day for p in monthly["organization"]["analytics"]] == [1, 1, 1]
    unknown = (await analytics(client, issuer, "nothing", "DAY", TODAY - dt.timedelta(days=6), TODAY))["data"]
    assert unknown["organization"]["analytics"] == []


@pytest.mark.parametrize(("days_back", "ok"), [(365, True), (366, False), (-1, False)])
async def test_analytics_date_range_is_checked(
    client: httpx.AsyncClient, issuer: TestIssuer, days_back: int, ok: bool
) -> None:
    body = await analytics(client, issuer, "sessions", "DAY", TODAY - dt.timedelta(days=days_back), TODAY)
    if ok:  # 366 days, both ends included: a leap year
        assert "errors" not in body and len(body["data"]["organization"]["analytics"]) == 90
    else:
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_usage_quotas(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    data = await org_data(client, issuer, "usageQuotas { id resource limit used remaining periodStart periodEnd }")
    quotas = data["usageQuotas"]
    assert [(q["resource"], q["limit"]) for q in quotas] == [
        ("API_CALLS", 1_000_000),
        ("SEATS", 100),
        ("WORKFLOW_RUNS", 5_000),
    ]
    assert all(q["remaining"] == max(q["limit"] - q["used"], 0) and 0 < q["used"] < q["limit"] for q in quotas)
    assert all(q["periodStart"] < q["periodEnd"] for q in quotas)


# --- people -------------------------------------------------------------------------------------

MEMBER = "id email name enterpriseRoles brainRole status lastLoginAt hasEnterpriseAccount hasBrainAccount"


async def test_invitations_newest_first_with_inviter(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    data = await org_data(
        client,
        issuer,
        f"""
        invitations {{ totalCount edges {{ node {{ id email role status expiresAt createdAt invitedBy {{ {MEMBER} }} }} }} }}
        pending: invitations(filter: {{status: [PENDING]}}) {{ totalCount edges {{ node {{ email }} }} }}
        closed: invitations(filter: {{status: [ACCEPTED, REVOKED, EXPIRED]}}) {{ totalCount }}
        """,
    )
    invitations = nodes(data["invitations"])
    assert data["invitations"]["totalCount"] == 6
    assert [i["email"] for i in invitations] == [f"invitee{i}@acme.example" for i in range(5, -1, -1)]
    # Seeded invitee4 and invitee5 are stored as pending but are past their expiry: they read EXPIRED.
    assert [i["status"] for i in invitations] == ["EXPIRED", "EXPIRED", "EXPIRED", "REVOKED", "ACCEPTED", "PENDING"]
    assert [i["role"] for i in invitations] == ["ADMIN", "MEMBER", "ANALYST", "ADMIN", "MEMBER", "ANALYST"]
    inviter = invitations[0]["invitedBy"]
    assert inviter["email"] == "admin@acme.example" and inviter["enterpriseRoles"] == ["ADMIN"]
    assert (inviter["brainRole"], inviter["hasBrainAccount"], inviter["hasEnterpriseAccount"]) == ("ADMIN", True, True)
    assert all(i["invitedBy"] == inviter for i in invitations)
    assert data["pending"]["totalCount"] == 1 and data["closed"]["totalCount"] == 5
    assert nodes(data["pending"]) == [{"email": "invitee0@acme.example"}]


def test_invitations_never_expose_the_token_hash() -> None:
    types = {t["name"]: t for t in schema.introspect()["__schema"]["types"]}
    fields = {f["name"].lower() for f in types["Invitation"]["fields"]}
    assert fields == {"id", "email", "role", "status", "expiresat", "createdat", "invitedby"}
    assert not any("token" in name or "hash" in name for name in fields)


ENTERPRISE_TYPES = {
    "BillingSubscription",
    "Member",
    "Agent",
    "Workflow",
    "WorkflowStep",
    "WorkflowExecution",
    "ScheduledWorkflow",
    "AuditLog",
    "AuditActor",
    "AuditTarget",
    "ComplianceCheck",
    "AnalyticsPoint",
    "UsageQuota",
    "Invitation",
    "Plan",
    "BillingSubscriptionStatus",
    "WorkflowStatus",
    "WorkflowExecutionStatus",
    "ComplianceFramework",
    "ComplianceCheckStatus",
    "AnalyticsPeriod",
    "QuotaResource",
    "InvitationStatus",
    "AgentOrder",
    "WorkflowOrder",
    "InvitationFilter",
    "AgentFilter",
    "WorkflowFilter",
    "WorkflowExecutionFilter",
    "MemberStatus",
    "AuditLogFilter",
    "ComplianceCheckFilter",
}
# Organization also carries the Brain half's fields; only these are this half's.
ENTERPRISE_ORGANIZATION_FIELDS = {
    "plan",
    "subscription",
    "members",
    "invitations",
    "agents",
    "workflows",
    "executions",
    "scheduledWorkflows",
    "auditLogs",
    "complianceChecks",
    "usageQuotas",
    "analytics",
}


def test_every_enterprise_type_field_argument_and_value_is_described() -> None:
    types = {t["name"]: t for t in schema.introspect()["__schema"]["types"]}
    organization = dict(types["Organization"])
    organization["fields"] = [f for f in organization["fields"] if f["name"] in ENTERPRISE_ORGANIZATION_FIELDS]
    assert len(organization["fields"]) == len(ENTERPRISE_ORGANIZATION_FIELDS)
    missing = []
    for type_ in [organization, *(types[name] for name in ENTERPRISE_TYPES)]:
        name = type_["name"]
        members = (type_.get("fields") or []) + (type_.get("inputFields") or []) + (type_.get("enumValues") or [])
        arguments = [arg for field in type_.get("fields") or [] for arg in field["args"]]
        missing += [name] if not type_["description"] else []
        missing += [f"{name}.{m['name']}" for m in members + arguments if not m["description"]]
    assert missing == []


async def test_members_join_both_stores_by_email(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    data = await org_data(client, issuer, f"members(first: 100) {{ totalCount edges {{ node {{ {MEMBER} }} }} }}")
    members = {m["email"]: m for m in nodes(data["members"])}
    emails = list(members)
    assert data["members"]["totalCount"] == 16
    assert emails == sorted(emails) and set(emails) == {*IN_BOTH, *ENTERPRISE_ONLY, *BRAIN_ONLY}
    analyst = members["analyst@acme.example"]
    assert (analyst["enterpriseRoles"], analyst["brainRole"], analyst["name"]) == (
        ["ANALYST"],
        "VIEWER",
        "Acme Corporation Analyst",
    )
    assert analyst["hasEnterpriseAccount"] and analyst["hasBrainAccount"] and analyst["status"] == "ACTIVE"
    brain_only = members["marketer1@acme.example"]
    assert brain_only == {
        "id": brain_only["id"],
        "email": "marketer1@acme.example",
        "name": "Marketer 1",
        "enterpriseRoles": [],
        "brainRole": "MARKETER",
        "status": None,
        "lastLoginAt": None,
        "hasEnterpriseAccount": False,
        "hasBrainAccount": True,
    }
    enterprise_only = members["analyst3@acme.example"]
    assert (enterprise_only["status"], enterprise_only["hasBrainAccount"], enterprise_only["brainRole"]) == (
        "DISABLED",
        False,
        None,
    )
    assert members["analyst2@acme.example"]["lastLoginAt"] is None
    assert members["analyst1@acme.example"]["lastLoginAt"] is not None


async def test_members_page_through_the_union(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    seen: list[str] = []
    after: str | None = None
    while True:
        data = await org_data(
            client,
            issuer,
            "members(first: 5, after: $after) { pageInfo { hasNextPage endCursor } edges { node { email } } }",
            {"after": after},
            params="$after: String",
        )
        seen += [m["email"] for m in nodes(data["members"])]
        if not data["members"]["pageInfo"]["hasNextPage"]:
            break
        after = data["members"]["pageInfo"]["endCursor"]
    assert len(seen) == 16 and seen == sorted(set(seen))
    tail = await org_data(client, issuer, "members(last: 3) { totalCount edges { node { email } } }")
    assert [m["email"] for m in nodes(tail["members"])] == seen[-3:]


async def test_members_degrade_to_mongodb_when_postgres_is_down(seeded: Stores, issuer: TestIssuer) -> None:
    dead_postgres = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    settings = gateway_settings(seeded, issuer, database_url=dead_postgres, store_timeout_s=1.0)
    server = ServerThread(create_app(settings)).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            fields = f"members(first: 100) {{ totalCount edges {{ node {{ {MEMBER} }} }} }}"
            data = await org_data(
                http, issuer, f"{fields} invitations(first: 1) {{ edges {{ node {{ invitedBy {{ {MEMBER} }} }} }} }}"
            )
    finally:
        server.stop()
    members = nodes(data["members"])
    assert data["members"]["totalCount"] == 13
    assert {m["email"] for m in members} == {*IN_BOTH, *ENTERPRISE_ONLY}
    assert all(m["hasBrainAccount"] is None and m["brainRole"] is None for m in members)
    inviter = nodes(data["invitations"])[0]["invitedBy"]
    assert inviter["email"] == "admin@acme.example" and inviter["hasBrainAccount"] is None


# --- node(id) -----------------------------------------------------------------------------------

ONE_OF_EACH = """
subscription { id }
members(first: 1) { edges { node { id } } }
agents(first: 1) { edges { node { id } } }
workflows(first: 1) { edges { node { id } } }
executions(first: 1) { edges { node { id } } }
scheduledWorkflows(first: 1) { edges { node { id } } }
auditLogs(first: 1) { edges { node { id } } }
complianceChecks(first: 1) { edges { node { id } } }
invitations(first: 1) { edges { node { id } } }
usageQuotas { id }
analytics(metric: "sessions", period: DAY, from: $from, to: $to) { id }
"""


async def one_id_per_type(client: httpx.AsyncClient, issuer: TestIssuer) -> dict[str, str]:
    day = {"from": TODAY.isoformat(), "to": TODAY.isoformat()}
    data = await org_data(client, issuer, ONE_OF_EACH, day, params="$from: Date!, $to: Date!")
    ids = [data["subscription"]["id"], data["usageQuotas"][0]["id"], data["analytics"][0]["id"]]
    ids += [nodes(value)[0]["id"] for value in data.values() if isinstance(value, dict) and "edges" in value]
    return {from_global_id(i)[0]: i for i in ids}


async def resolve_nodes(client: httpx.AsyncClient, token: str, ids: list[str]) -> list[dict[str, Any] | None]:
    selections = " ".join(f'n{i}: node(id: "{node_id}") {{ __typename id }}' for i, node_id in enumerate(ids))
    body = await gql(client, f"{{ {selections} }}", token=token)
    assert "errors" not in body, body["errors"]
    return [body["data"][f"n{i}"] for i in range(len(ids))]


async def test_every_enterprise_id_resolves_as_a_node(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    ids = await one_id_per_type(client, issuer)
    assert set(ids) == {
        "BillingSubscription",
        "Member",
        "Agent",
        "Workflow",
        "WorkflowExecution",
        "ScheduledWorkflow",
        "AuditLog",
        "ComplianceCheck",
        "AnalyticsPoint",
        "UsageQuota",
        "Invitation",
    }
    found = await resolve_nodes(client, issuer.token("acme", "admin"), list(ids.values()))
    assert found == [{"__typename": type_name, "id": node_id} for type_name, node_id in ids.items()]


async def test_unknown_and_malformed_node_ids_are_null(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    ids = [
        to_global_id("Agent", "not-an-object-id"),
        to_global_id("Workflow", "0" * 24),
        to_global_id("WorkflowExecution", "ABCDEF"),
        to_global_id("Member", "nobody"),
        to_global_id("Member", "nobody@acme.example"),
        to_global_id("Member", "u:" + "0" * 24),
        to_global_id("Member", "u:not-an-object-id"),
        to_global_id("Member", "b:00000000-0000-0000-0000-000000000000"),
    ]
    assert await resolve_nodes(client, issuer.token("acme", "admin"), ids) == [None] * len(ids)


async def member_ids(client: httpx.AsyncClient, issuer: TestIssuer) -> dict[str, str]:
    data = await org_data(client, issuer, "members(first: 100) { edges { node { id email } } }")
    return {m["email"]: m["id"] for m in nodes(data["members"])}


async def test_member_ids_are_opaque_and_resolve_as_nodes(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    ids = await member_ids(client, issuer)
    assert len(set(ids.values())) == len(ids) == 16
    for email, member_id in ids.items():
        type_name, raw = from_global_id(member_id)
        # Neither the e-mail nor any part of it is in the id, encoded or not.
        assert type_name == "Member" and email.split("@")[0] not in raw and "@" not in raw
        assert raw.startswith(("u:", "b:"))
    # Members with an enterprise account go by it, Brain-only members by their Brain account.
    assert from_global_id(ids["analyst@acme.example"])[1].startswith("u:")
    assert from_global_id(ids["marketer1@acme.example"])[1].startswith("b:")
    found = await resolve_nodes(client, issuer.token("acme", "admin"), list(ids.values()))
    assert [n and n["id"] for n in found] == list(ids.values())
    # The same id on every read: it is stable.
    assert await member_ids(client, issuer) == ids


async def test_node_fetches_member_known_to_one_store(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    body = await gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Member { email hasEnterpriseAccount hasBrainAccount } } }",
        {"id": (await member_ids(client, issuer))["marketer2@acme.example"]},
        token=issuer.token("acme", "admin"),
    )
    assert body["data"]["node"] == {
        "email": "marketer2@acme.example",
        "hasEnterpriseAccount": False,
        "hasBrainAccount": True,
    }


# --- tenancy ------------------------------------------------------------------------------------

IDS = """
members(first: 100) { edges { node { id email } } }
agents { edges { node { id } } }
workflows { edges { node { id } } }
executions(first: 100) { edges { node { id } } }
scheduledWorkflows { edges { node { id } } }
auditLogs(first: 100) { edges { node { id } } }
complianceChecks { edges { node { id } } }
invitations { edges { node { id email } } }
usageQuotas { id }
subscription { id price { currency } }
"""


def all_ids(data: dict[str, Any]) -> set[str]:
    ids = {data["subscription"]["id"], *(q["id"] for q in data["usageQuotas"])}
    for value in data.values():
        if isinstance(value, dict) and "edges" in value:
            ids |= {node["id"] for node in nodes(value)}
    return ids


async def test_another_organization_sees_none_of_acme(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    acme = await org_data(client, issuer, IDS)
    globex = await org_data(client, issuer, IDS, org="globex")
    assert all_ids(acme).isdisjoint(all_ids(globex))
    assert globex["subscription"]["price"]["currency"] == "EUR"
    assert all(m["email"].endswith("@globex.example") for m in nodes(globex["members"]))
    assert all(i["email"].endswith("@globex.example") for i in nodes(globex["invitations"]))

    acme_workflow = nodes(acme["workflows"])[0]["id"]
    foreign = await org_data(
        client,
        issuer,
        "executions(filter: {workflowId: $id}) { totalCount }",
        {"id": acme_workflow},
        params="$id: ID!",
        org="globex",
    )
    assert foreign["executions"]["totalCount"] == 0

    acme_ids = list((await one_id_per_type(client, issuer)).values())
    assert await resolve_nodes(client, issuer.token("globex", "admin"), acme_ids) == [None] * len(acme_ids)


# --- bounded work ------------------------------------------------------------------------------

DEEP = """
query Deep($n: Int!) { organization {
  workflows(first: $n) { totalCount edges { node {
    steps { agent { name } }
    executions(first: 3) { totalCount edges { node { status workflow { name } } } }
    oldest: executions(last: 2) { edges { node { startedAt } } }
    schedule { cron workflow { name } }
  } } }
  executions(first: $n) { edges { node { workflow { schedule { cron } } } } }
  invitations(first: $n) { edges { node { invitedBy { email brainRole } } } }
} }
"""


async def traced(client: httpx.AsyncClient, issuer: TestIssuer, n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    body = await gql(client, DEEP, {"n": n}, token=issuer.token("acme", "admin"), headers={"X-Omnify-Debug": "stores"})
    assert "errors" not in body, body["errors"]
    return body["data"]["organization"], body["extensions"]["stores"]


async def test_round_trips_grow_with_depth_not_list_sizes(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    small, small_trace = await traced(client, issuer, 1)
    large, large_trace = await traced(client, issuer, 8)
    assert len(nodes(small["workflows"])) == 1 and len(nodes(small["invitations"])) == 1
    assert len(nodes(large["workflows"])) == 8 and len(nodes(large["invitations"])) == 6
    assert sum(len(w["steps"]) for w in nodes(large["workflows"])) == 15
    assert small_trace["mongo"]["roundTrips"] == large_trace["mongo"]["roundTrips"], (small_trace, large_trace)
    assert small_trace["postgres"]["roundTrips"] == large_trace["postgres"]["roundTrips"]
    # One query per list and per relationship level; no per-object queries.
    assert large_trace["mongo"]["roundTrips"] <= 12, large_trace
    assert large_trace["postgres"]["roundTrips"] <= 2, large_trace
