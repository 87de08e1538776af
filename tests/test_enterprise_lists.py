"""One filter and order style on every MongoDB (enterprise) list, over HTTP against the seeded stores.

Reads use organization `acme`, which nothing changes (see tests/test_enterprise.py for
what the seed holds). Tests that insert documents use `initech`, which the mutation tests
change too, and remove what they inserted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from gateway.data.ids import from_global_id, to_global_id
from gateway.ops.seed import oid, seed_subject
from tests.conftest import Stores, gql
from tests.support.issuer import TestIssuer

Db = AsyncDatabase[dict[str, Any]]
STATUSES = ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"]


async def org_data(
    client: httpx.AsyncClient, issuer: TestIssuer, fields: str, variables: dict[str, Any] | None = None, **kw: Any
) -> dict[str, Any]:
    params = kw.get("params", "")
    query = f"query Q{f'({params})' if params else ''} {{ organization {{ {fields} }} }}"
    body = await gql(client, query, variables, token=issuer.token(kw.get("org", "acme"), "admin"))
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]["organization"]
    return data


async def error_of(client: httpx.AsyncClient, issuer: TestIssuer, fields: str) -> dict[str, Any]:
    body = await gql(client, f"{{ organization {{ {fields} }} }}", token=issuer.token("acme", "admin"))
    assert body.get("errors"), body
    error: dict[str, Any] = body["errors"][0]
    return error


def nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection["edges"]]


def raw(global_id: str) -> str:
    return from_global_id(global_id)[1]


async def count(client: httpx.AsyncClient, issuer: TestIssuer, field: str, args: str) -> int:
    data = await org_data(client, issuer, f"{field}({args}) {{ totalCount }}")
    total: int = data[field]["totalCount"]
    return total


async def all_of(
    client: httpx.AsyncClient,
    issuer: TestIssuer,
    field: str,
    args: str,
    selection: str,
    page_size: int = 40,
    org: str = "acme",
) -> list[dict[str, Any]]:
    """Every node of a list, paging forward with cursors; checks the pages add up to `totalCount`."""
    found: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        data = await org_data(
            client,
            issuer,
            f"{field}(first: {page_size}, after: $after{', ' + args if args else ''}) "
            f"{{ totalCount pageInfo {{ hasNextPage endCursor }} edges {{ node {{ id {selection} }} }} }}",
            {"after": after},
            params="$after: String",
            org=org,
        )
        connection = data[field]
        found += nodes(connection)
        if not connection["pageInfo"]["hasNextPage"]:
            assert len(found) == connection["totalCount"]
            assert len({n["id"] for n in found}) == len(found)
            return found
        after = connection["pageInfo"]["endCursor"]


# --- ordering: every field, both directions, ties broken by id --------------------------------------


def _key(value: Any, name: str) -> Any:
    if name.endswith("At"):
        return dt.datetime.fromisoformat(value)
    # Enum values read as their GraphQL names; the store sorts what it holds, the lower-case value.
    return value.lower() if name in ("status", "role") else value


ORDERINGS = [
    ("agents", "NAME", "name"),
    ("agents", "CREATED_AT", "createdAt"),
    ("agents", "KIND", "kind"),
    ("workflows", "NAME", "name"),
    ("workflows", "CREATED_AT", "createdAt"),
    ("workflows", "UPDATED_AT", "updatedAt"),
    ("workflows", "STATUS", "status"),
    ("workflows", "VERSION", "version"),
    ("executions", "CREATED_AT", "createdAt"),
    ("executions", "STARTED_AT", "startedAt"),
    ("executions", "FINISHED_AT", "finishedAt"),
    ("executions", "STATUS", "status"),
    ("scheduledWorkflows", "NEXT_RUN_AT", "nextRunAt"),
    ("scheduledWorkflows", "LAST_RUN_AT", "lastRunAt"),
    ("scheduledWorkflows", "TIMEZONE", "timezone"),
    ("auditLogs", "CREATED_AT", "createdAt"),
    ("auditLogs", "ACTION", "action"),
    ("complianceChecks", "FRAMEWORK", "framework"),
    ("complianceChecks", "CONTROL", "control"),
    ("complianceChecks", "STATUS", "status"),
    ("complianceChecks", "CHECKED_AT", "checkedAt"),
    ("invitations", "CREATED_AT", "createdAt"),
    ("invitations", "EXPIRES_AT", "expiresAt"),
    ("invitations", "EMAIL", "email"),
    ("invitations", "ROLE", "role"),
    ("members", "EMAIL", "email"),
    ("members", "NAME", "name"),
    ("members", "LAST_LOGIN_AT", "lastLoginAt"),
]


@pytest.mark.parametrize(("field", "order", "value"), ORDERINGS, ids=[f"{f}-{o}" for f, o, _ in ORDERINGS])
async def test_each_ordering_both_ways_with_ties_broken_by_id(
    client: httpx.AsyncClient, issuer: TestIssuer, field: str, order: str, value: str
) -> None:
    selection = f"{value} email" if field == "members" else value
    ascending = await all_of(client, issuer, field, f"orderBy: {{field: {order}}}", selection)
    descending = await all_of(client, issuer, field, f"orderBy: {{field: {order}, direction: DESC}}", selection)
    # Ascending: missing values first (as MongoDB sorts null), then by value; ties by id, ascending.
    tie = "email" if field == "members" else "id"
    expected = sorted(
        ascending,
        key=lambda n: (n[value] is not None, _key(n[value], value) if n[value] is not None else 0, _tie(n, tie)),
    )
    assert [n["id"] for n in ascending] == [n["id"] for n in expected]
    # Descending is the exact reverse: the id breaks ties the other way too.
    assert [n["id"] for n in descending] == [n["id"] for n in reversed(ascending)]


def _tie(node: dict[str, Any], tie: str) -> str:
    return str(node[tie]) if tie == "email" else raw(node["id"])


@pytest.mark.parametrize("field", ["auditLogs", "workflows", "complianceChecks"])
async def test_ties_are_broken_by_id(client: httpx.AsyncClient, issuer: TestIssuer, field: str) -> None:
    # Many entries share an action, a status or a framework: within each, ids ascend (and descend for DESC).
    value = {"auditLogs": "action", "workflows": "status", "complianceChecks": "framework"}[field]
    for direction, step in (("ASC", 1), ("DESC", -1)):
        got = await all_of(client, issuer, field, f"orderBy: {{field: {value.upper()}, direction: {direction}}}", value)
        groups: dict[str, list[str]] = {}
        for node in got:
            groups.setdefault(node[value], []).append(raw(node["id"]))
        assert any(len(ids) > 1 for ids in groups.values())
        for ids in groups.values():
            assert ids == sorted(ids)[::step]


async def test_orders_combine_most_significant_first(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    got = await all_of(
        client,
        issuer,
        "complianceChecks",
        "orderBy: [{field: STATUS, direction: DESC}, {field: CONTROL}]",
        "status control",
    )
    pairs = [(n["status"], n["control"]) for n in got]
    assert pairs == sorted(sorted(pairs, key=lambda sc: sc[1]), key=lambda sc: sc[0].lower(), reverse=True)
    default = await all_of(client, issuer, "complianceChecks", "", "framework control")
    assert [(n["framework"], n["control"]) for n in default] == sorted((n["framework"], n["control"]) for n in default)
    # A field given twice counts once, where it first appears.
    twice = await all_of(client, issuer, "agents", "orderBy: [{field: NAME, direction: DESC}, {field: NAME}]", "name")
    assert [n["name"] for n in twice] == sorted((n["name"] for n in twice), reverse=True)


async def test_default_orders(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    data = await org_data(
        client,
        issuer,
        """
        agents(first: 100) { edges { node { name } } }
        executions(first: 100) { edges { node { createdAt } } }
        auditLogs(first: 100) { edges { node { createdAt } } }
        scheduledWorkflows(first: 100) { edges { node { nextRunAt } } }
        invitations(first: 100) { edges { node { createdAt } } }
        members(first: 100) { edges { node { email } } }
        """,
    )
    names = [n["name"] for n in nodes(data["agents"])]
    assert names == sorted(names)
    for field, value, newest_first in (
        ("executions", "createdAt", True),
        ("auditLogs", "createdAt", True),
        ("invitations", "createdAt", True),
        ("scheduledWorkflows", "nextRunAt", False),
    ):
        values = [dt.datetime.fromisoformat(n[value]) for n in nodes(data[field])]
        assert values == sorted(values, reverse=newest_first), field
    emails = [n["email"] for n in nodes(data["members"])]
    assert emails == sorted(emails)


async def test_members_order_by_role(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    rank = {"OWNER": 0, "ADMIN": 1, "ANALYST": 2, "MEMBER": 3}
    got = nodes(
        (
            await org_data(
                client,
                issuer,
                "members(first: 100, orderBy: {field: ROLE}) { edges { node { email enterpriseRoles } } }",
            )
        )["members"]
    )

    def key(n: dict[str, Any]) -> tuple[bool, int, str]:
        ranks = [rank[r] for r in n["enterpriseRoles"]]
        return (bool(ranks), min(ranks, default=0), n["email"])

    assert got == sorted(got, key=key)
    assert not got[0]["enterpriseRoles"]  # Brain-only members, without an enterprise role, come first
    assert got[[bool(n["enterpriseRoles"]) for n in got].index(True)]["enterpriseRoles"] == ["OWNER"]


# --- filters ----------------------------------------------------------------------------------------


async def test_status_and_enum_filters_take_lists(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    data = await org_data(
        client,
        issuer,
        """
        workflows(first: 100, filter: {status: [DRAFT, ARCHIVED]}) { edges { node { status } } }
        runs: executions(first: 100, filter: {status: [RUNNING, FAILED], triggeredBy: [USER, API]}) {
          totalCount edges { node { status triggeredBy } } }
        auditLogs(first: 100, filter: {action: ["user.login", "workflow.run"], actorKind: [USER], targetType: ["Organization"]}) {
          totalCount edges { node { action } } }
        complianceChecks(first: 100, filter: {framework: [SOC2, HIPAA], status: [FAILING, PENDING]}) {
          edges { node { framework status } } }
        invitations(first: 100, filter: {role: [ADMIN, MEMBER]}) { edges { node { role } } }
        """,
    )
    assert {n["status"] for n in nodes(data["workflows"])} == {"DRAFT", "ARCHIVED"}
    expected = [
        n
        for n in await all_of(client, issuer, "executions", "", "status triggeredBy", page_size=100)
        if n["status"] in ("RUNNING", "FAILED") and n["triggeredBy"] in ("USER", "API")
    ]
    assert data["runs"]["totalCount"] == len(expected) > 0
    assert {n["action"] for n in nodes(data["auditLogs"])} == {"user.login", "workflow.run"}
    assert data["auditLogs"]["totalCount"] == 34 + 33  # every 6th of 200, from entry 0 and from entry 3
    checks = nodes(data["complianceChecks"])
    assert checks and all(c["framework"] in ("SOC2", "HIPAA") and c["status"] in ("FAILING", "PENDING") for c in checks)
    assert sorted(n["role"] for n in nodes(data["invitations"])) == ["ADMIN", "ADMIN", "MEMBER", "MEMBER"]


async def test_time_ranges_are_half_open(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    """`from` is inclusive and `to` exclusive, on every time-stamped list."""
    cases = [
        ("agents", "createdAt", "createdAt"),
        ("workflows", "createdAt", "createdAt"),
        ("workflows", "updatedAt", "updatedAt"),
        ("executions", "createdAt", "createdAt"),
        ("executions", "startedAt", "startedAt"),
        ("executions", "finishedAt", "finishedAt"),
        ("scheduledWorkflows", "lastRunAt", "lastRunAt"),
        ("scheduledWorkflows", "nextRunAt", "nextRunAt"),
        ("auditLogs", "createdAt", "createdAt"),
        ("complianceChecks", "checkedAt", "checkedAt"),
        ("invitations", "createdAt", "createdAt"),
        ("invitations", "expiresAt", "expiresAt"),
        ("members", "lastLoginAt", "lastLoginAt"),
    ]
    for field, filter_field, value in cases:
        everything = await all_of(client, issuer, field, "", value, page_size=100)
        stamps = sorted({dt.datetime.fromisoformat(n[value]) for n in everything if n[value]})
        assert stamps, (field, value)
        low, high = stamps[0], stamps[-1]

        def between(
            start: dt.datetime | None, end: dt.datetime | None, everything: Any = everything, value: str = value
        ) -> int:
            return sum(
                1
                for n in everything
                if n[value]
                and (start is None or dt.datetime.fromisoformat(n[value]) >= start)
                and (end is None or dt.datetime.fromisoformat(n[value]) < end)
            )

        for start, end in ((low, high), (high, None), (None, low), (low, low), (None, high)):
            bounds = ", ".join(
                f'{name}: "{moment.isoformat()}"' for name, moment in (("from", start), ("to", end)) if moment
            )
            got = await count(client, issuer, field, f"filter: {{{filter_field}: {{{bounds}}}}}")
            assert got == between(start, end), (field, filter_field, start, end)
        assert await count(client, issuer, field, f'filter: {{{filter_field}: {{from: "{high.isoformat()}"}}}}') >= 1
        assert await count(client, issuer, field, f'filter: {{{filter_field}: {{to: "{low.isoformat()}"}}}}') == 0


async def test_an_instant_without_offset_is_utc(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    logs = await all_of(client, issuer, "auditLogs", "", "createdAt", page_size=100)
    anchor = dt.datetime.fromisoformat(logs[10]["createdAt"])
    naive = anchor.replace(tzinfo=None).isoformat()
    assert await count(client, issuer, "auditLogs", f'filter: {{createdAt: {{from: "{naive}"}}}}') == 11


@pytest.mark.parametrize(
    "field",
    [
        "agents",
        "workflows",
        "executions",
        "scheduledWorkflows",
        "auditLogs",
        "complianceChecks",
        "invitations",
        "members",
    ],
)
async def test_a_reversed_range_is_refused(client: httpx.AsyncClient, issuer: TestIssuer, field: str) -> None:
    filter_field = {
        "scheduledWorkflows": "nextRunAt",
        "complianceChecks": "checkedAt",
        "members": "lastLoginAt",
    }.get(field, "createdAt")
    error = await error_of(
        client,
        issuer,
        f'{field}(filter: {{{filter_field}: {{from: "2026-02-01T00:00:00Z", to: "2026-01-01T00:00:00Z"}}}}) {{ totalCount }}',
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_numeric_comparisons(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    everything = await all_of(client, issuer, "workflows", "", "version", page_size=100)
    versions = [n["version"] for n in everything]  # 1 to 4
    for op, holds in (
        ("eq", lambda v: v == 2),
        ("gt", lambda v: v > 2),
        ("gte", lambda v: v >= 2),
        ("lt", lambda v: v < 2),
        ("lte", lambda v: v <= 2),
    ):
        got = await count(client, issuer, "workflows", f"filter: {{version: {{{op}: 2}}}}")
        assert got == sum(1 for v in versions if holds(v)), op
    assert await count(client, issuer, "workflows", "filter: {version: {gt: 1, lte: 3}}") == sum(
        1 for v in versions if 1 < v <= 3
    )
    assert await count(client, issuer, "workflows", "filter: {version: {gt: 3, lt: 2}}") == 0


async def test_substring_search_is_literal_and_case_insensitive(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    data = await org_data(
        client,
        issuer,
        r"""
        agents(filter: {nameContains: "an"}) { edges { node { name } } }
        workflows(filter: {nameContains: "WORKFLOW 1:"}) { edges { node { name } } }
        dot: workflows(filter: {nameContains: ".*"}) { totalCount }
        paren: workflows(filter: {nameContains: "("}) { totalCount }
        backslash: agents(filter: {nameContains: "\\"}) { totalCount }
        colon: workflows(filter: {nameContains: ": "}) { totalCount }
        controls: complianceChecks(filter: {controlContains: "art."}) { edges { node { control } } }
        dotControls: complianceChecks(filter: {controlContains: "c6.1"}) { edges { node { control } } }
        anyChar: complianceChecks(filter: {controlContains: "6.."}) { totalCount }
        invitations(filter: {emailContains: "INVITEE1@"}) { edges { node { email } } }
        members(filter: {emailContains: "ANALYST", nameContains: "analyst 1"}) { edges { node { email } } }
        """,
    )
    assert sorted(n["name"] for n in nodes(data["agents"])) == ["Anomaly Watcher", "Creative Analyst"]
    assert [n["name"] for n in nodes(data["workflows"])] == ["Workflow 1: Budget Optimizer loop"]
    assert data["dot"]["totalCount"] == data["paren"]["totalCount"] == data["backslash"]["totalCount"] == 0
    assert data["colon"]["totalCount"] == 8
    assert sorted(n["control"] for n in nodes(data["controls"])) == ["Art.17", "Art.25", "Art.30", "Art.32", "Art.5"]
    assert [n["control"] for n in nodes(data["dotControls"])] == ["CC6.1"]
    assert data["anyChar"]["totalCount"] == 0  # "." is a dot, not any character
    assert [n["email"] for n in nodes(data["invitations"])] == ["invitee1@acme.example"]
    assert [n["email"] for n in nodes(data["members"])] == ["analyst1@acme.example"]


async def test_other_filters(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    data = await org_data(
        client,
        issuer,
        """
        disabled: agents(filter: {enabled: false}) { edges { node { name enabled } } }
        kinds: agents(filter: {kind: ["monitor", "reporter"]}) { edges { node { kind } } }
        paused: scheduledWorkflows(filter: {enabled: false}) { edges { node { enabled } } }
        berlin: scheduledWorkflows(filter: {timezone: ["Europe/Berlin", "UTC"]}) { edges { node { timezone } } }
        owner: auditLogs(filter: {actorId: ["nobody", $owner]}) { totalCount }
        brainOnly: members(filter: {hasEnterpriseAccount: false}) { edges { node { email hasBrainAccount } } }
        both: members(filter: {hasEnterpriseAccount: true, hasBrainAccount: true}) { totalCount }
        disabledMembers: members(filter: {status: [DISABLED]}) { edges { node { status } } }
        analysts: members(filter: {enterpriseRole: [ANALYST]}) { totalCount }
        marketers: members(filter: {brainRole: [MARKETER]}) { edges { node { brainRole } } }
        """,
        {"owner": seed_subject("acme", "owner")},
        params="$owner: String!",
    )
    assert [(n["name"], n["enabled"]) for n in nodes(data["disabled"])] == [("Audience Builder", False)]
    assert sorted(n["kind"] for n in nodes(data["kinds"])) == ["monitor", "reporter"]
    assert [n["enabled"] for n in nodes(data["paused"])] == [False]
    assert sorted(n["timezone"] for n in nodes(data["berlin"])) == ["Europe/Berlin", "UTC", "UTC"]
    assert data["owner"]["totalCount"] == 40
    assert sorted(n["email"] for n in nodes(data["brainOnly"])) == [f"marketer{i}@acme.example" for i in (1, 2, 3)]
    assert all(n["hasBrainAccount"] for n in nodes(data["brainOnly"]))
    assert data["both"]["totalCount"] == 5
    assert nodes(data["disabledMembers"]) and all(n["status"] == "DISABLED" for n in nodes(data["disabledMembers"]))
    assert data["analysts"]["totalCount"] == 9  # the seeded analyst and the 8 enterprise-only ones
    assert nodes(data["marketers"]) and all(n["brainRole"] == "MARKETER" for n in nodes(data["marketers"]))


async def test_a_workflows_executions_filter_and_order(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    data = await org_data(
        client,
        issuer,
        """
        workflows(first: 3) { edges { node { id
          oldest: executions(first: 15, orderBy: {field: CREATED_AT}) { edges { node { createdAt } } }
          byStatus: executions(first: 15, orderBy: [{field: STATUS}, {field: STARTED_AT, direction: DESC}]) {
            edges { node { status startedAt } } }
          users: executions(filter: {triggeredBy: [USER]}) { totalCount edges { node { triggeredBy } } }
        } } }
        """,
    )
    for workflow in nodes(data["workflows"]):
        created = [n["createdAt"] for n in nodes(workflow["oldest"])]
        assert len(created) == 15 and created == sorted(created)
        by_status = [(n["status"].lower(), n["startedAt"]) for n in nodes(workflow["byStatus"])]
        assert by_status == sorted(by_status, key=lambda s: (s[0], -dt.datetime.fromisoformat(s[1]).timestamp()))
        assert all(n["triggeredBy"] == "USER" for n in nodes(workflow["users"]))


# --- counts by status -------------------------------------------------------------------------------


COUNTS = "countsByStatus { status count }"


def by_status(connection: dict[str, Any]) -> dict[str, int]:
    counts = {c["status"]: c["count"] for c in connection["countsByStatus"]}
    assert [c["status"] for c in connection["countsByStatus"]] == STATUSES  # every status, zeros included
    return counts


async def test_execution_counts_by_status(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    data = await org_data(
        client,
        issuer,
        f"""
        all: executions(first: 0) {{ totalCount {COUNTS} }}
        failed: executions(first: 0, filter: {{status: [FAILED]}}) {{ totalCount {COUNTS} }}
        users: executions(first: 0, filter: {{triggeredBy: [USER]}}) {{ totalCount {COUNTS} }}
        userFailed: executions(first: 0, filter: {{triggeredBy: [USER], status: [FAILED, RUNNING]}}) {{ totalCount {COUNTS} }}
        workflows {{ edges {{ node {{
          executions(first: 0, filter: {{status: [SUCCEEDED]}}) {{ totalCount {COUNTS} }}
          users: executions(first: 0, filter: {{triggeredBy: [USER]}}) {{ totalCount {COUNTS} }}
          runs: executions(first: 15) {{ edges {{ node {{ status triggeredBy }} }} }}
        }} }} }}
        """,
    )
    # Seeded per workflow: 15 runs, 2 failed, 1 running, 12 succeeded; none queued.
    assert by_status(data["all"]) == {"QUEUED": 0, "RUNNING": 8, "SUCCEEDED": 96, "FAILED": 16, "CANCELLED": 0}
    assert data["all"]["totalCount"] == 120
    # The status filter narrows the list but not its counts by status: they are the tabs' counts.
    assert by_status(data["failed"]) == by_status(data["all"]) and data["failed"]["totalCount"] == 16
    users = by_status(data["users"])
    assert users == by_status(data["userFailed"])
    assert data["userFailed"]["totalCount"] == users["FAILED"] + users["RUNNING"]
    assert sum(users.values()) == data["users"]["totalCount"]
    seen: dict[str, int] = dict.fromkeys(STATUSES, 0)
    for workflow in nodes(data["workflows"]):
        assert by_status(workflow["executions"]) == {
            "QUEUED": 0,
            "RUNNING": 1,
            "SUCCEEDED": 12,
            "FAILED": 2,
            "CANCELLED": 0,
        }
        assert workflow["executions"]["totalCount"] == 12
        mine = [n for n in nodes(workflow["runs"]) if n["triggeredBy"] == "USER"]
        assert by_status(workflow["users"]) == {s: sum(1 for n in mine if n["status"] == s) for s in STATUSES}
        for status, n in by_status(workflow["users"]).items():
            seen[status] += n
    assert seen == users


async def test_counts_by_status_are_asked_only_when_selected_and_batched(
    client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    async def mongo_trips(fields: str) -> int:
        body = await gql(
            client,
            f"{{ organization {{ {fields} }} }}",
            token=issuer.token("acme", "owner"),
            headers={"X-Omnify-Debug": "stores"},
        )
        assert "errors" not in body, body["errors"]
        trips: int = body["extensions"]["stores"]["mongo"]["roundTrips"]
        return trips

    plain = await mongo_trips("executions(first: 5) { edges { node { id } } }")
    counted = await mongo_trips(f"executions(first: 5) {{ {COUNTS} edges {{ node {{ id }} }} }}")
    assert counted == plain + 1  # one aggregate, and none unless selected
    nested = "workflows(first: 8) { edges { node { executions(first: 2) { %s edges { node { id } } } } } }"
    assert await mongo_trips(nested % COUNTS) == await mongo_trips(nested % "") + 1  # one for all workflows


# --- changes while paging ---------------------------------------------------------------------------


@pytest.fixture
async def db(seeded: Stores) -> AsyncIterator[Db]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(seeded.mongo_url, tz_aware=True)
    yield client[seeded.mongo_db]
    await client.close()


async def test_counts_follow_inserted_runs(client: httpx.AsyncClient, issuer: TestIssuer, db: Db) -> None:
    org = str(oid("org", "initech"))
    workflow = str(oid("workflow", "initech", 0))
    query = f'executions(first: 0, filter: {{workflowId: "{to_global_id("Workflow", workflow)}"}}) {{ {COUNTS} }}'
    before = by_status((await org_data(client, issuer, query, org="initech"))["executions"])
    marker = ObjectId()
    now = dt.datetime.now(dt.UTC)
    docs = [
        {"organization_id": org, "workflow_id": workflow, "status": "queued", "created_at": now, "test": str(marker)}
        for _ in range(3)
    ]
    await db.agentkit_executions.insert_many(docs)
    try:
        after = by_status((await org_data(client, issuer, query, org="initech"))["executions"])
        assert after == {**before, "QUEUED": before["QUEUED"] + 3}
    finally:
        await db.agentkit_executions.delete_many({"test": str(marker)})


# --- keyset paging: pages hold under inserts --------------------------------------------------------


INITECH = str(oid("org", "initech"))
WORKFLOW = str(oid("workflow", "initech", 0))
WORKFLOW_ID = to_global_id("Workflow", WORKFLOW)


def _run(marker: str, at: dt.datetime) -> dict[str, Any]:
    return {
        "organization_id": INITECH,
        "workflow_id": WORKFLOW,
        "status": "queued",
        "triggered_by": "api",
        "created_at": at,
        "started_at": None,
        "finished_at": None,
        "test": marker,
    }


def _audit(marker: str, at: dt.datetime) -> dict[str, Any]:
    return {
        "organization_id": INITECH,
        "actor": {"kind": "system", "id": "test"},
        "action": "test.inserted",
        "event_id": str(ObjectId()),
        "at": at,
        "test": marker,
    }


# (list, arguments, what to insert, the collection): every list newest first under its default or given order.
KEYSET_CASES = [
    ("executions", f'filter: {{workflowId: "{WORKFLOW_ID}"}}', _run, "agentkit_executions"),
    (
        "executions",
        "orderBy: [{field: STATUS, direction: DESC}, {field: CREATED_AT, direction: DESC}]",
        lambda marker, at: {**_run(marker, at), "status": "succeeded"},
        "agentkit_executions",
    ),
    ("auditLogs", "", _audit, "audit_logs"),
    ("auditLogs", "orderBy: {field: CREATED_AT}", _audit, "audit_logs"),
]


async def _page(client: httpx.AsyncClient, issuer: TestIssuer, field: str, args: str) -> dict[str, Any]:
    data = await org_data(
        client,
        issuer,
        f"{field}({args}) {{ pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} edges {{ node {{ id }} }} }}",
        org="initech",
    )
    page: dict[str, Any] = data[field]
    return page


def _ids(page: dict[str, Any]) -> list[str]:
    return [n["id"] for n in nodes(page)]


@pytest.mark.parametrize(("field", "args", "make", "collection"), KEYSET_CASES)
async def test_keyset_pages_neither_repeat_nor_skip_under_inserts(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db, field: str, args: str, make: Any, collection: str
) -> None:
    extra = f", {args}" if args else ""
    before_inserts = _ids(await _page(client, issuer, field, f"first: 12{extra}"))
    first = await _page(client, issuer, field, f"first: 4{extra}")
    tail = await _page(client, issuer, field, f"last: 4{extra}")
    assert _ids(first) == before_inserts[:4] and not first["pageInfo"]["hasPreviousPage"]
    assert not tail["pageInfo"]["hasNextPage"] and tail["pageInfo"]["hasPreviousPage"]
    marker = str(ObjectId())
    now = dt.datetime.now(dt.UTC)
    # The newest sort before page 1 (newest first), the oldest before it ascending: around every cursor.
    docs = [make(marker, now + dt.timedelta(minutes=i)) for i in range(3)]
    docs += [make(marker, now - dt.timedelta(days=3650 + i)) for i in range(3)]
    await db[collection].insert_many(docs)
    try:
        second = await _page(client, issuer, field, f'first: 4, after: "{first["pageInfo"]["endCursor"]}"{extra}')
        third = await _page(client, issuer, field, f'first: 4, after: "{second["pageInfo"]["endCursor"]}"{extra}')
        assert _ids(second) + _ids(third) == before_inserts[4:12]
        assert second["pageInfo"]["hasPreviousPage"] and second["pageInfo"]["hasNextPage"]
        everything = [n["id"] for n in await all_of(client, issuer, field, args, "", org="initech")]
        # Backward from a cursor: the rows just before it, new ones included.
        for page in (first, tail):
            back = await _page(client, issuer, field, f'last: 4, before: "{page["pageInfo"]["startCursor"]}"{extra}')
            position = everything.index(_ids(page)[0])
            assert _ids(back) == everything[max(0, position - 4) : position]
            assert back["pageInfo"]["hasNextPage"]
        # `first` + `before`: the page stops at the cursor.
        bounded = await _page(client, issuer, field, f'first: 10, before: "{first["pageInfo"]["endCursor"]}"{extra}')
        position = everything.index(_ids(first)[-1])
        assert _ids(bounded) == everything[max(0, position - 10) : position][:10] == everything[:position][:10]
    finally:
        await db[collection].delete_many({"test": marker})


async def test_a_cursor_of_another_order_or_list_is_refused(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    page = await _page(client, issuer, "executions", "first: 2, orderBy: {field: STARTED_AT}")
    cursor = page["pageInfo"]["endCursor"]
    for fields in (
        f'executions(after: "{cursor}") {{ totalCount }}',
        f'executions(after: "{cursor}", orderBy: {{field: STARTED_AT, direction: DESC}}) {{ totalCount }}',
        f'auditLogs(after: "{cursor}") {{ totalCount }}',
        f'workflows {{ edges {{ node {{ executions(after: "{cursor}", orderBy: {{field: STARTED_AT}}) {{ totalCount }} }} }} }}',
    ):
        assert (await error_of(client, issuer, fields))["extensions"]["code"] == "BAD_USER_INPUT", fields


async def test_nested_executions_page_by_keyset_under_inserts(
    client: httpx.AsyncClient, issuer: TestIssuer, db: Db
) -> None:
    query = """query($after: String, $order: [WorkflowExecutionOrder!]) { organization { workflows(first: 3) { edges { node { id
      executions(first: 4, after: $after, orderBy: $order) { pageInfo { endCursor } edges { node { id } } } } } } } }"""

    async def pages(after: str | None, order: Any) -> dict[str, dict[str, Any]]:
        body = await gql(client, query, {"after": after, "order": order}, token=issuer.token("initech", "admin"))
        assert "errors" not in body, body["errors"]
        return {n["id"]: n["executions"] for n in nodes(body["data"]["organization"]["workflows"])}

    for order in (None, [{"field": "STARTED_AT", "direction": "ASC"}]):
        before = await pages(None, order)
        mine = before[WORKFLOW_ID]
        old = [n["id"] for n in await all_of(client, issuer, "executions", _args(order), "", org="initech")]
        marker = str(ObjectId())
        now = dt.datetime.now(dt.UTC)
        await db.agentkit_executions.insert_many(
            [{**_run(marker, now + dt.timedelta(minutes=i)), "started_at": None} for i in range(3)]
        )
        try:
            unchanged = await pages(None, order)
            second = await pages(mine["pageInfo"]["endCursor"], order)
            everything = [n["id"] for n in await all_of(client, issuer, "executions", _args(order), "", org="initech")]
            new = [i for i in everything if i not in old]
            assert len(new) == 3
            if order is None:
                assert everything[:3] == new  # the newest, before the old page 1
            assert [i for i in everything if i in old] == old
            assert _ids(unchanged[WORKFLOW_ID]) == everything[:4]
            position = everything.index(_ids(mine)[-1])
            assert _ids(second[WORKFLOW_ID]) == everything[position + 1 : position + 5] == old[4:8]
        finally:
            await db.agentkit_executions.delete_many({"test": marker})


def _args(order: Any) -> str:
    filter_ = f'filter: {{workflowId: "{WORKFLOW_ID}"}}'
    if not order:
        return filter_
    return f"{filter_}, orderBy: {{field: {order[0]['field']}, direction: {order[0]['direction']}}}"


async def test_members_page_by_keyset_under_every_order(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    for order in ("EMAIL", "NAME", "ROLE", "LAST_LOGIN_AT"):
        for direction in ("ASC", "DESC"):
            args = f"orderBy: {{field: {order}, direction: {direction}}}"
            whole = [n["id"] for n in await all_of(client, issuer, "members", args, "", page_size=100)]
            paged = [n["id"] for n in await all_of(client, issuer, "members", args, "", page_size=3)]
            assert paged == whole
            backward: list[str] = []
            before: str | None = None
            while True:
                data = await org_data(
                    client,
                    issuer,
                    f"members(last: 3, before: $before, {args}) "
                    "{ pageInfo { hasPreviousPage startCursor } edges { node { id } } }",
                    {"before": before},
                    params="$before: String",
                )
                backward = _ids(data["members"]) + backward
                if not data["members"]["pageInfo"]["hasPreviousPage"]:
                    break
                before = data["members"]["pageInfo"]["startCursor"]
            assert backward == whole, (order, direction)


async def test_usage_quotas_filter_and_order(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    selection = "resource limit used periodEnd"
    data = await org_data(
        client,
        issuer,
        f"""
        all: usageQuotas {{ {selection} }}
        byUse: usageQuotas(orderBy: {{field: USED, direction: DESC}}) {{ used }}
        byLimit: usageQuotas(orderBy: [{{field: LIMIT}}]) {{ limit }}
        some: usageQuotas(filter: {{resource: [SEATS, API_CALLS]}}) {{ resource }}
        """,
    )
    quotas = data["all"]
    assert [q["resource"] for q in quotas] == ["API_CALLS", "SEATS", "WORKFLOW_RUNS"]  # one period, by resource
    assert [q["used"] for q in data["byUse"]] == sorted((q["used"] for q in quotas), reverse=True)
    assert [q["limit"] for q in data["byLimit"]] == sorted(q["limit"] for q in quotas)
    assert sorted(q["resource"] for q in data["some"]) == ["API_CALLS", "SEATS"]
    seats = next(q for q in quotas if q["resource"] == "SEATS")
    for op, holds in (
        ("eq", lambda v, b: v == b),
        ("gt", lambda v, b: v > b),
        ("gte", lambda v, b: v >= b),
        ("lt", lambda v, b: v < b),
        ("lte", lambda v, b: v <= b),
    ):
        for field in ("used", "limit"):
            bound = seats[field]
            got = await org_data(client, issuer, f"usageQuotas(filter: {{{field}: {{{op}: {bound}}}}}) {{ resource }}")
            assert sorted(q["resource"] for q in got["usageQuotas"]) == sorted(
                q["resource"] for q in quotas if holds(q[field], bound)
            ), (field, op)
    end = seats["periodEnd"]
    got = await org_data(client, issuer, f'usageQuotas(filter: {{periodEnd: {{from: "{end}", to: "{end}"}}}}) {{ id }}')
    assert got["usageQuotas"] == []
    got = await org_data(client, issuer, f'usageQuotas(filter: {{periodEnd: {{from: "{end}"}}}}) {{ id }}')
    assert len(got["usageQuotas"]) == 3


@pytest.mark.parametrize(
    ("field", "name"),
    [("members", "emailContains"), ("invitations", "emailContains"), ("complianceChecks", "controlContains")],
)
async def test_an_overlong_substring_is_refused_by_name(
    client: httpx.AsyncClient, issuer: TestIssuer, field: str, name: str
) -> None:
    error = await error_of(client, issuer, f'{field}(filter: {{{name}: "{"x" * 201}"}}) {{ totalCount }}')
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and name in error["message"]
