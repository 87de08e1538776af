"""`nodes(ids:)`, the targets of action and audit logs as nodes, an object's own action history, typed retention."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest

from gateway.data.ids import from_global_id, to_global_id
from tests.conftest import Stores, gql
from tests.support.issuer import TestIssuer

NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"


@pytest.fixture
async def owner(seeded: Stores) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(seeded.database_url)
    try:
        yield conn
    finally:
        await conn.close()


async def ids_of(client: httpx.AsyncClient, token: str, field: str, n: int) -> list[str]:
    body = await gql(
        client, f"{{ organization {{ {field}(first: {n}) {{ edges {{ node {{ id }} }} }} }} }}", token=token
    )
    assert "errors" not in body, body
    return [e["node"]["id"] for e in body["data"]["organization"][field]["edges"]]


async def test_nodes_answer_in_order_with_null_for_foreign_and_unknown_ids(
    client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    token = issuer.token("acme", "analyst")
    campaigns = await ids_of(client, token, "campaigns", 3)
    creatives = await ids_of(client, token, "creatives", 2)
    workflows = await ids_of(client, token, "workflows", 2)
    org = (await gql(client, "{ organization { id } }", token=token))["data"]["organization"]["id"]
    foreign = await ids_of(client, issuer.token("globex", "analyst"), "campaigns", 1)
    foreign_workflow = await ids_of(client, issuer.token("globex", "analyst"), "workflows", 1)
    unknown = to_global_id("Campaign", uuid4())
    ids = [creatives[0], *foreign, campaigns[0], unknown, workflows[0], org, campaigns[0], *foreign_workflow]
    ids += [campaigns[2], creatives[1], workflows[1], "Q2FtcGFpZ246MTIz"]  # the last: `Campaign:123`, cannot exist
    body = await gql(client, NODES, {"ids": ids}, token=token)
    assert "errors" not in body, body
    answered = body["data"]["nodes"]
    expected = [i if i not in (*foreign, unknown, *foreign_workflow, "Q2FtcGFpZ246MTIz") else None for i in ids]
    assert [n["id"] if n else None for n in answered] == expected
    assert [n["__typename"] for n in answered if n] == [from_global_id(i)[0] for i in expected if i]
    empty = await gql(client, NODES, {"ids": []}, token=token)
    assert empty == {"data": {"nodes": []}}


async def test_nodes_read_each_type_in_one_statement_however_many_ids(
    client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    token = issuer.token("acme", "admin")
    campaigns = await ids_of(client, token, "campaigns", 40)
    creatives = await ids_of(client, token, "creatives", 40)

    async def round_trips(ids: list[str]) -> int:
        body = await gql(client, NODES, {"ids": ids}, token=token, headers={"X-Omnify-Debug": "stores"})
        assert "errors" not in body and all(body["data"]["nodes"]), body
        return int(body["extensions"]["stores"]["postgres"]["roundTrips"])

    few = await round_trips([campaigns[0], creatives[0]])
    assert await round_trips(campaigns + creatives) == few


async def test_nodes_refuse_too_many_ids_bad_ids_and_sensitive_types(
    client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    token = issuer.token("acme", "viewer")
    campaign = (await ids_of(client, token, "campaigns", 1))[0]
    too_many = await gql(client, NODES, {"ids": [campaign] * 101}, token=token)
    assert too_many["data"] is None or too_many["data"]["nodes"] is None
    assert too_many["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "at most 100" in too_many["errors"][0]["message"]
    assert all((await gql(client, NODES, {"ids": [campaign] * 100}, token=token))["data"]["nodes"])
    for bad in ("not-an-id!", to_global_id("Nothing", "1")):
        body = await gql(client, NODES, {"ids": [campaign, bad]}, token=token)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    audit = (await ids_of(client, issuer.token("acme", "admin"), "auditLogs", 1))[0]
    refused = await gql(client, NODES, {"ids": [campaign, audit]}, token=token)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN", refused


ACTION_TARGETS = """query($id: ID!) { node(id: $id) { ... on Campaign { id name
  actionLogs(first: 10) { totalCount edges { node { id action targetType targetId
    target { __typename id ... on Campaign { name } } } } } } } }"""
LOG_TARGETS = """{ organization { actionLogs(first: 100) { edges { node { id targetType targetId
  target { __typename id } } } } } }"""


async def test_action_log_targets_are_nodes_and_null_once_deleted(
    client: httpx.AsyncClient, issuer: TestIssuer, owner: asyncpg.Connection
) -> None:
    token = issuer.token("initech", "analyst")
    org, channel = await owner.fetchrow(
        "SELECT c.organization_id, c.id FROM channels c JOIN organizations o ON o.id = c.organization_id "
        "WHERE o.slug = 'initech' ORDER BY c.id LIMIT 1"
    )
    campaign, log = uuid4(), uuid4()
    await owner.execute(
        "INSERT INTO campaigns (id, organization_id, channel_id, external_id, name) VALUES ($1, $2, $3, 'x-1', 'Doomed')",
        campaign,
        org,
        channel,
    )
    await owner.execute(
        "INSERT INTO action_logs (id, organization_id, actor_kind, actor_id, action, target_type, target_id, payload,"
        " status) VALUES ($1, $2, 'user', 'someone', 'updateCampaignBudget', 'Campaign', $3, '{}'::jsonb, 'succeeded')",
        log,
        org,
        str(campaign),
    )
    try:
        body = await gql(client, ACTION_TARGETS, {"id": to_global_id("Campaign", campaign)}, token=token)
        assert "errors" not in body, body
        history = body["data"]["node"]["actionLogs"]
        assert history["totalCount"] == 1
        entry = history["edges"][0]["node"]
        assert entry["id"] == to_global_id("ActionLog", log) and entry["targetId"] == str(campaign)
        assert entry["target"] == {"__typename": "Campaign", "id": to_global_id("Campaign", campaign), "name": "Doomed"}
    finally:
        await owner.execute("DELETE FROM campaigns WHERE id = $1", campaign)
    body = await gql(client, LOG_TARGETS, token=token)
    assert "errors" not in body, body
    logs = {e["node"]["id"]: e["node"] for e in body["data"]["organization"]["actionLogs"]["edges"]}
    assert logs[to_global_id("ActionLog", log)]["target"] is None  # deleted since: null, not an error
    await owner.execute("DELETE FROM action_logs WHERE id = $1", log)
    # Every other entry's target is the object its stored type and id name.
    for entry in logs.values():
        if entry["target"] is not None:
            kind = from_global_id(entry["target"]["id"])[0]
            assert kind == entry["target"]["__typename"]
            assert entry["targetType"] == re.sub(r"(?<!^)(?=[A-Z])", "_", kind).upper()  # ApiCredential: API_CREDENTIAL
            assert (
                entry["targetType"] == "ORGANIZATION" or from_global_id(entry["target"]["id"])[1] == entry["targetId"]
            )


PAUSE = (
    """mutation($input: CreativeStatusInput!) { %s(input: $input) { creative { id status } userErrors { code } } }"""
)
CREATIVE_HISTORY = """query($id: ID!, $filter: ActionLogFilter) { node(id: $id) { ... on Creative {
  actionLogs(first: 1, filter: $filter) { totalCount pageInfo { hasNextPage endCursor }
    edges { node { action target { id } } } } } } }"""


async def test_a_creatives_action_history_pages_and_filters(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    token = issuer.token("initech", "marketer")
    body = await gql(
        client,
        "{ organization { creatives(first: 100, filter: {status: [ACTIVE]}) { edges { node { id actionLogs { totalCount } } } } } }",
        token=token,
    )
    # One with no history yet: other tests act on the same seeded creatives.
    creative = next(
        e["node"]["id"]
        for e in body["data"]["organization"]["creatives"]["edges"]
        if e["node"]["actionLogs"]["totalCount"] == 0
    )
    for mutation in ("pauseCreative", "resumeCreative"):
        done = await gql(
            client, PAUSE % mutation, {"input": {"creativeId": creative, "reason": "history test"}}, token=token
        )
        assert done["data"][mutation]["userErrors"] == [], done
    first = await gql(client, CREATIVE_HISTORY, {"id": creative}, token=token)
    history = first["data"]["node"]["actionLogs"]
    assert history["totalCount"] == 2 and history["pageInfo"]["hasNextPage"]
    assert history["edges"][0]["node"] == {"action": "RESUME_CREATIVE", "target": {"id": creative}}
    only = await gql(client, CREATIVE_HISTORY, {"id": creative, "filter": {"action": ["PAUSE_CREATIVE"]}}, token=token)
    assert only["data"]["node"]["actionLogs"]["totalCount"] == 1
    # Another organization's history of the same creative: the creative itself is null to them.
    foreign = await gql(client, CREATIVE_HISTORY, {"id": creative}, token=issuer.token("acme", "admin"))
    assert foreign == {"data": {"node": None}}


AUDIT_TARGETS = "{ organization { id auditLogs(first: 5) { edges { node { targetRef { type id } target { id } } } } } }"


async def test_audit_log_targets_are_nodes_where_they_live_in_a_store(
    client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    body = await gql(client, AUDIT_TARGETS, token=issuer.token("acme", "admin"))
    assert "errors" not in body, body
    org = body["data"]["organization"]
    entries = [e["node"] for e in org["auditLogs"]["edges"]]
    assert entries
    for entry in entries:  # the organization's own changes name it; others name their object
        kind = entry["targetRef"]["type"]
        expected = org["id"] if kind == "Organization" else to_global_id(kind, entry["targetRef"]["id"])
        assert entry["target"] == {"id": expected}, entry


async def test_cohort_retention_is_typed_points_by_period(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    body = await gql(
        client,
        "{ organization { cohorts(first: 3) { edges { node { retention { period ratio } } } } } }",
        token=issuer.token("acme", "viewer"),
    )
    assert "errors" not in body, body
    for edge in body["data"]["organization"]["cohorts"]["edges"]:
        points: list[dict[str, Any]] = edge["node"]["retention"]
        assert [p["period"] for p in points] == list(range(7))
        assert points[0]["ratio"] == 1.0 and all(0 <= p["ratio"] <= 1 for p in points)


async def test_an_unknown_raw_id_shape_is_no_node(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    body = await gql(
        client,
        NODES,
        {"ids": [to_global_id("Creative", "nope"), to_global_id("Agent", UUID(int=0))]},
        token=issuer.token("acme", "viewer"),
    )
    assert body == {"data": {"nodes": [None, None]}}


HISTORIES = """query($n: Int) { organization { campaigns(first: $n) { edges { node { id
  actionLogs(first: 2) { totalCount edges { node { id action target { id } } } } } } } } }"""


async def test_action_histories_of_a_page_are_one_statement_and_match_the_organizations_log(
    client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    token = issuer.token("acme", "admin")

    async def histories(n: int) -> tuple[list[dict[str, Any]], int]:
        body = await gql(client, HISTORIES, {"n": n}, token=token, headers={"X-Omnify-Debug": "stores"})
        assert "errors" not in body, body
        edges = body["data"]["organization"]["campaigns"]["edges"]
        return [e["node"] for e in edges], int(body["extensions"]["stores"]["postgres"]["roundTrips"])

    few, few_trips = await histories(20)
    many, many_trips = await histories(60)
    # Both pages have campaigns with and without history (so both read the targets too).
    assert {c["actionLogs"]["totalCount"] > 0 for c in few} == {True, False}
    assert few_trips == many_trips
    assert many[:20] == few
    body = await gql(
        client, LOG_TARGETS.replace("first: 100", "first: 100, filter: {action: [UPDATE_CAMPAIGN_BUDGET]}"), token=token
    )
    by_target: dict[str, list[str]] = {}
    for e in body["data"]["organization"]["actionLogs"]["edges"]:
        if e["node"]["target"] and e["node"]["targetType"] == "CAMPAIGN":
            by_target.setdefault(e["node"]["target"]["id"], []).append(e["node"]["id"])
    assert by_target  # the seed logs budget changes of its campaigns
    for campaign in many:
        logs = campaign["actionLogs"]
        assert all(entry["target"] == {"id": campaign["id"]} for entry in (e["node"] for e in logs["edges"]))
        if campaign["id"] in by_target and logs["totalCount"] <= 2:
            assert {e["node"]["id"] for e in logs["edges"]} >= set(by_target[campaign["id"]])
