"""The Brain (PostgreSQL) half of the schema: types, paging, filters, ordering, metrics, node(id)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from uuid import uuid4

import httpx
import pytest

from gateway.data.brain import campaigns
from gateway.data.brain.sql import ordering_of
from gateway.data.ids import to_global_id
from gateway.data.paging import encode_cursor
from tests.conftest import gql
from tests.support.issuer import TestIssuer

BY_NAME = ordering_of(campaigns.BY_NAME, campaigns.SORTABLE)  # the campaigns' default order

TODAY = dt.datetime.now(dt.UTC).date()
LAST_30 = {"from": str(TODAY - dt.timedelta(days=29)), "to": str(TODAY)}


async def q(
    client: httpx.AsyncClient, issuer: TestIssuer, query: str, org: str = "acme", **variables: Any
) -> dict[str, Any]:
    body = await gql(client, query, variables, token=issuer.token(org, "admin"))
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


async def error_code(client: httpx.AsyncClient, issuer: TestIssuer, query: str, **variables: Any) -> str:
    body = await gql(client, query, variables, token=issuer.token("acme", "admin"))
    assert body.get("errors"), body
    code: str = body["errors"][0]["extensions"]["code"]
    return code


async def test_channels_with_campaigns_cohorts_and_metrics(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    data = await q(
        client,
        issuer,
        """
      query($from: Date!, $to: Date!) { organization { channels(first: 10) { totalCount edges { node {
        id platform name status createdAt
        campaigns(first: 3) { totalCount edges { node { name channel { platform } } } }
        performance(from: $from, to: $to) { impressions clicks spend { amount currency } currency }
        dailyMetrics(from: $from, to: $to) { date performance { clicks currency } }
        cohorts { cohortMonth customers currency ltv30 { amount currency } ltv90 { amount } ltv180 { amount }
          retention { period ratio } channel { platform } }
      } } } } }""",
        **LAST_30,
    )
    channels = data["organization"]["channels"]
    assert channels["totalCount"] == 6
    for edge in channels["edges"]:
        node = edge["node"]
        assert node["campaigns"]["totalCount"] == 10
        assert all(c["node"]["channel"]["platform"] == node["platform"] for c in node["campaigns"]["edges"])
        assert len({d["date"] for d in node["dailyMetrics"]}) == 30
        currencies = [p["currency"] for p in node["performance"]]
        assert currencies == sorted(set(currencies)) and all(
            p["spend"]["currency"] == p["currency"] for p in node["performance"]
        )
        for perf in node["performance"]:
            daily = [d for d in node["dailyMetrics"] if d["performance"]["currency"] == perf["currency"]]
            assert sum(d["performance"]["clicks"] for d in daily) == perf["clicks"]
        assert len(node["cohorts"]) == 12 and node["cohorts"][0]["retention"][0] == {"period": 0, "ratio": 1.0}
        assert all(c["ltv30"]["currency"] == c["currency"] == "USD" for c in node["cohorts"])
        assert all(c["channel"]["platform"] == node["platform"] for c in node["cohorts"])


async def test_campaign_and_creative_fields(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    data = await q(
        client,
        issuer,
        """
      query($from: Date!, $to: Date!) { organization { campaigns(first: 1) { edges { node {
        id name externalId status objective startDate endDate createdAt updatedAt dailyBudget { amount currency }
        performance(from: $from, to: $to) {
          impressions clicks spend { amount } conversions revenue { amount } ctr cpc { amount } cpa { amount } roas currency }
        dailyMetrics(from: $from, to: $to) { date performance { spend { amount } } }
        creatives(first: 2) { totalCount edges { node {
          id name externalId format status headline createdAt updatedAt campaign { name }
          performance(from: $from, to: $to) { spend { amount currency } }
          dailyMetrics(from: $from, to: $to) { date }
        } } }
      } } } } }""",
        **LAST_30,
    )
    campaign = data["organization"]["campaigns"]["edges"][0]["node"]
    perf = campaign["performance"]
    assert Decimal(campaign["dailyBudget"]["amount"]) >= 0 and perf["currency"] == campaign["dailyBudget"]["currency"]
    assert perf["ctr"] == pytest.approx(perf["clicks"] / perf["impressions"], abs=1e-6)
    assert Decimal(perf["cpc"]["amount"]) == (Decimal(perf["spend"]["amount"]) / perf["clicks"]).quantize(
        Decimal("0.01")
    )
    daily_spend = sum(Decimal(d["performance"]["spend"]["amount"]) for d in campaign["dailyMetrics"])
    assert daily_spend == Decimal(perf["spend"]["amount"])
    assert campaign["creatives"]["totalCount"] == 20
    for edge in campaign["creatives"]["edges"]:
        assert edge["node"]["campaign"]["name"] == campaign["name"]
        assert len(edge["node"]["dailyMetrics"]) == 30
        assert edge["node"]["performance"]["spend"]["currency"] == perf["currency"]


async def test_ratios_are_null_when_denominator_is_zero(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    # No data a year before the seed window: zero spend, clicks and conversions.
    empty = {"from": str(TODAY - dt.timedelta(days=400)), "to": str(TODAY - dt.timedelta(days=300))}
    data = await q(
        client,
        issuer,
        """
      query($from: Date!, $to: Date!) { organization { performance(from: $from, to: $to) { currency }
        campaigns(first: 1) { edges { node { dailyBudget { currency }
          performance(from: $from, to: $to) { impressions spend { amount currency } ctr cpc { amount } cpa { amount } roas } } } } } }""",
        **empty,
    )
    assert data["organization"]["performance"] == []  # no currency has metrics in the range
    campaign = data["organization"]["campaigns"]["edges"][0]["node"]
    assert campaign["performance"] == {
        "impressions": 0,
        "spend": {"amount": "0.00", "currency": campaign["dailyBudget"]["currency"]},
        "ctr": None,
        "cpc": None,
        "cpa": None,
        "roas": None,
    }
    # Every 10th creative never converts: CPA is null, ROAS is 0 (there is spend).
    data = await q(
        client,
        issuer,
        """
      query($from: Date!, $to: Date!) { organization { campaigns(first: 1) { edges { node {
        creatives(first: 10) { edges { node { name performance(from: $from, to: $to) { conversions cpa { amount } roas } } } } } } } } }""",
        **LAST_30,
    )
    never = [
        e["node"]
        for e in data["organization"]["campaigns"]["edges"][0]["node"]["creatives"]["edges"]
        if e["node"]["name"].split()[1].endswith("-09")
    ]
    assert never and never[0]["performance"]["conversions"] == 0
    assert never[0]["performance"]["cpa"] is None and never[0]["performance"]["roas"] == 0.0


async def test_campaign_filters(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    query = """query($f: CampaignFilter) { organization { campaigns(first: 100, filter: $f) { totalCount edges { node { name status channel { id platform } } } } } }"""
    everything = (await q(client, issuer, query))["organization"]["campaigns"]
    active = (await q(client, issuer, query, f={"status": ["ACTIVE"]}))["organization"]["campaigns"]
    assert 0 < active["totalCount"] < everything["totalCount"] == 60
    assert all(e["node"]["status"] == "ACTIVE" for e in active["edges"])
    meta = (await q(client, issuer, query, f={"platform": ["META"]}))["organization"]["campaigns"]
    assert meta["totalCount"] == 10 and {e["node"]["channel"]["platform"] for e in meta["edges"]} == {"META"}
    channel_id = meta["edges"][0]["node"]["channel"]["id"]
    by_channel = (await q(client, issuer, query, f={"channelId": channel_id}))["organization"]["campaigns"]
    assert by_channel["totalCount"] == 10
    named = (await q(client, issuer, query, f={"nameContains": "rEtArGeT"}))["organization"]["campaigns"]
    assert named["totalCount"] > 0 and all("retarget" in e["node"]["name"].lower() for e in named["edges"])
    assert await error_code(client, issuer, query, f={"channelId": "bogus!"}) == "BAD_USER_INPUT"


@pytest.mark.parametrize("field", ["SPEND", "ROAS", "NAME", "CREATED_AT"])
async def test_campaign_ordering(client: httpx.AsyncClient, issuer: TestIssuer, field: str) -> None:
    query = """query($o: [CampaignOrder!], $r: DateRange, $from: Date!, $to: Date!) { organization {
      campaigns(first: 60, orderBy: $o, metricsRange: $r) {
      edges { node { name createdAt performance(from: $from, to: $to) { spend { amount } roas } } } } } }"""
    order = {"field": field, "direction": "DESC"}
    nodes = [
        e["node"]
        for e in (await q(client, issuer, query, o=order, r=LAST_30, **LAST_30))["organization"]["campaigns"]["edges"]
    ]
    key = {
        "SPEND": lambda n: Decimal(n["performance"]["spend"]["amount"]),
        "ROAS": lambda n: n["performance"]["roas"] if n["performance"]["roas"] is not None else -1,
        "NAME": lambda n: n["name"],
        "CREATED_AT": lambda n: n["createdAt"],
    }[field]
    values = [key(n) for n in nodes]
    assert values == sorted(values, reverse=True)


async def test_creatives_organization_wide(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    query = """query($f: CreativeFilter, $o: [CreativeOrder!], $from: Date!, $to: Date!) { organization {
      creatives(first: 10, filter: $f, orderBy: $o, metricsRange: {from: $from, to: $to}) { totalCount edges { node { format status campaign { id }
        performance(from: $from, to: $to) { ctr } } } } } }"""
    data = (await q(client, issuer, query, **LAST_30))["organization"]["creatives"]
    assert data["totalCount"] == 1200
    videos = (await q(client, issuer, query, f={"format": ["VIDEO"], "status": ["ACTIVE"]}, **LAST_30))["organization"][
        "creatives"
    ]
    assert all(e["node"]["format"] == "VIDEO" and e["node"]["status"] == "ACTIVE" for e in videos["edges"])
    campaign_id = data["edges"][0]["node"]["campaign"]["id"]
    one = (await q(client, issuer, query, f={"campaignId": campaign_id}, **LAST_30))["organization"]["creatives"]
    assert one["totalCount"] == 20
    ranked = await q(client, issuer, query, o={"field": "CTR", "direction": "DESC"}, **LAST_30)
    ctrs = [e["node"]["performance"]["ctr"] for e in ranked["organization"]["creatives"]["edges"]]
    assert ctrs == sorted(ctrs, reverse=True)


async def test_brain_states_credentials_sync_jobs_action_logs(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    data = (
        await q(
            client,
            issuer,
            """{ organization {
      latestBrainStates { module version state computedAt }
      brainStates(first: 50, filter: {module: [ORACLE]}) { totalCount edges { node { module version } } }
      credentials { totalCount edges { node { platform keyHint status createdAt lastUsedAt } } }
      syncJobs(first: 5, filter: {status: [FAILED]}) { totalCount edges { node { status error platform recordsSynced startedAt finishedAt createdAt } } }
      actionLogs(first: 3) { totalCount edges { node { actorKind actorId action targetType targetId payload result status createdAt } } }
    } }""",
        )
    )["organization"]
    assert sorted((s["module"], s["version"]) for s in data["latestBrainStates"]) == [
        ("CURIOSITY", 5),
        ("MEMORY", 5),
        ("ORACLE", 5),
    ]
    assert data["brainStates"]["totalCount"] == 5
    assert [e["node"]["version"] for e in data["brainStates"]["edges"]] == [5, 4, 3, 2, 1]
    assert data["credentials"]["totalCount"] == 6
    assert data["syncJobs"]["totalCount"] > 0 and all(e["node"]["error"] for e in data["syncJobs"]["edges"])
    assert data["actionLogs"]["totalCount"] == 30
    created = [e["node"]["createdAt"] for e in data["actionLogs"]["edges"]]
    assert created == sorted(created, reverse=True)


async def test_credential_secret_is_not_in_the_schema(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    data = await q(client, issuer, '{ __type(name: "ApiCredential") { fields { name } } }')
    names = {f["name"] for f in data["__type"]["fields"]}
    assert names and not any("secret" in n.lower() for n in names)


PAGE = """query($first: Int, $after: String, $last: Int, $before: String) { organization {
  campaigns(first: $first, after: $after, last: $last, before: $before) { totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { name } } } } }"""


async def test_pagination_forward_backward_and_edges(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    everything = [
        e["node"]["name"] for e in (await q(client, issuer, PAGE, first=100))["organization"]["campaigns"]["edges"]
    ]
    assert len(everything) == 60
    seen: list[str] = []
    after = None
    while True:
        page = (await q(client, issuer, PAGE, first=25, after=after))["organization"]["campaigns"]
        seen += [e["node"]["name"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == everything
    # Exact last page: 60 = 3 * 20, the third page says there is no more.
    forty = (await q(client, issuer, PAGE, first=40))["organization"]["campaigns"]
    third = (await q(client, issuer, PAGE, first=20, after=forty["pageInfo"]["endCursor"]))["organization"]["campaigns"]
    assert len(third["edges"]) == 20 and third["pageInfo"]["hasNextPage"] is False
    empty = (await q(client, issuer, PAGE, first=20, after=third["pageInfo"]["endCursor"]))["organization"]["campaigns"]
    assert empty["edges"] == [] and empty["pageInfo"]["startCursor"] is None and empty["totalCount"] == 60
    zero = (await q(client, issuer, PAGE, first=0))["organization"]["campaigns"]
    assert zero["edges"] == [] and zero["pageInfo"]["hasNextPage"] is True
    tail = (await q(client, issuer, PAGE, last=5))["organization"]["campaigns"]
    assert [e["node"]["name"] for e in tail["edges"]] == everything[-5:]
    before = (await q(client, issuer, PAGE, last=3, before=tail["edges"][0]["cursor"]))["organization"]["campaigns"]
    assert [e["node"]["name"] for e in before["edges"]] == everything[-8:-5]


@pytest.mark.parametrize(
    "variables",
    [
        {"first": 101},
        {"last": 101},
        {"first": -1},
        {"first": 5, "last": 5},
        {"first": 5, "after": "not-a-cursor"},
        {"first": 5, "after": encode_cursor("Organization.channels", BY_NAME, ("Summer", uuid4()))},
        {"first": 5, "after": "eyJjIjoiT3JnYW5pemF0aW9uLmNhbXBhaWducyIsIm8iOi0xfQ"},
    ],
)
async def test_bad_paging_arguments(client: httpx.AsyncClient, issuer: TestIssuer, variables: dict[str, Any]) -> None:
    assert await error_code(client, issuer, PAGE, **variables) == "BAD_USER_INPUT"


async def test_invalid_date_range(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    query = "query($from: Date!, $to: Date!) { organization { performance(from: $from, to: $to) { currency } } }"
    assert await error_code(client, issuer, query, **{"from": "2026-02-01", "to": "2026-01-01"}) == "BAD_USER_INPUT"
    assert await error_code(client, issuer, query, **{"from": "2020-01-01", "to": "2026-01-01"}) == "BAD_USER_INPUT"
    assert await error_code(client, issuer, query, **{"from": "2026-13-01", "to": "2026-01-01"}) == "BAD_USER_INPUT"


NODE = """query($id: ID!) { node(id: $id) { id __typename
  ... on Campaign { name } ... on Channel { platform } ... on Creative { name } ... on Cohort { customers }
  ... on BrainState { version } ... on ApiCredential { platform } ... on SyncJob { status } ... on ActionLog { action }
  ... on Organization { slug } } }"""


async def test_node_resolves_every_brain_type(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    data = (
        await q(
            client,
            issuer,
            """{ organization { id
      channels(first: 1) { edges { node { id } } } campaigns(first: 1) { edges { node { id } } }
      creatives(first: 1) { edges { node { id } } } cohorts(first: 1) { edges { node { id } } }
      brainStates(first: 1) { edges { node { id } } } credentials(first: 1) { edges { node { id } } }
      syncJobs(first: 1) { edges { node { id } } } actionLogs(first: 1) { edges { node { id } } } } }""",
        )
    )["organization"]
    ids = [data["id"]] + [v["edges"][0]["node"]["id"] for k, v in data.items() if k != "id"]
    for global_id in ids:
        node = (await q(client, issuer, NODE, id=global_id))["node"]
        assert node is not None and node["id"] == global_id
        # The same id from another organization's token resolves to nothing.
        assert (await q(client, issuer, NODE, org="globex", id=global_id))["node"] is None


@pytest.mark.parametrize("bad", ["%%%", "bm90LWEtbm9kZQ", to_global_id("Nope", "1")])
async def test_malformed_node_id(client: httpx.AsyncClient, issuer: TestIssuer, bad: str) -> None:
    assert await error_code(client, issuer, NODE, id=bad) == "BAD_USER_INPUT"


async def test_node_with_wellformed_but_unknown_raw_id(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    for raw in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        assert (await q(client, issuer, NODE, id=to_global_id("Campaign", raw)))["node"] is None


async def test_forged_cursor_values(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    for values in [(2**63, uuid4()), ("Summer", "not-a-uuid"), ("Summer",), ("Summer", None)]:
        forged = encode_cursor("Organization.campaigns", BY_NAME, values)
        assert await error_code(client, issuer, PAGE, first=5, after=forged) == "BAD_USER_INPUT"
