"""Lists of the Brain store: keyset cursors, filters, orderings and counts by status, over real HTTP."""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest

from gateway.data.brain import campaigns
from gateway.data.brain.metrics import measured_ordering
from gateway.data.brain.sql import Where, ordering_of
from gateway.data.filters import DayRange, Sort
from gateway.data.ids import from_global_id
from tests.conftest import Stores, gql
from tests.support.docs import DOCS
from tests.support.issuer import TestIssuer


async def q(client: httpx.AsyncClient, issuer: TestIssuer, query: str, org: str = "acme", **variables: Any) -> Any:
    body = await gql(client, query, variables, token=issuer.token(org, "admin"))
    assert "errors" not in body, body["errors"]
    return body["data"]["organization"]


async def error(client: httpx.AsyncClient, issuer: TestIssuer, query: str, org: str = "acme", **variables: Any) -> Any:
    body = await gql(client, query, variables, token=issuer.token(org, "admin"))
    assert body.get("errors"), body
    return body["errors"][0]


@pytest.fixture
async def owner(seeded: Stores) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(seeded.database_url)
    try:
        yield conn
    finally:
        await conn.close()


async def org_id(conn: asyncpg.Connection, slug: str) -> UUID:
    found: UUID = await conn.fetchval("SELECT id FROM organizations WHERE slug = $1", slug)
    return found


async def insert_jobs(conn: asyncpg.Connection, slug: str, times: list[dt.datetime]) -> list[UUID]:
    """Sync jobs created at `times` (as the owner, like another gateway's writes); their ids."""
    org = await org_id(conn, slug)
    ids = [uuid4() for _ in times]
    await conn.executemany(
        "INSERT INTO sync_jobs (id, organization_id, platform, status, records_synced, created_at) "
        "VALUES ($1, $2, 'meta', 'queued', 0, $3)",
        list(zip(ids, [org] * len(ids), times, strict=True)),
    )
    return ids


JOBS = """query($first: Int, $after: String, $last: Int, $before: String) { organization {
  syncJobs(first: $first, after: $after, last: $last, before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id createdAt } } } } }"""


def ids_of(connection: dict[str, Any]) -> list[str]:
    return [e["node"]["id"] for e in connection["edges"]]


async def test_keyset_pages_do_not_shift_when_rows_are_inserted_before_them(
    client: httpx.AsyncClient, issuer: TestIssuer, owner: asyncpg.Connection
) -> None:
    everything = ids_of((await q(client, issuer, JOBS, org="initech", first=100))["syncJobs"])
    page1 = (await q(client, issuer, JOBS, org="initech", first=5))["syncJobs"]
    assert ids_of(page1) == everything[:5]
    assert page1["pageInfo"]["hasPreviousPage"] is False and page1["pageInfo"]["hasNextPage"] is True
    # Newer jobs sort before page 1 (newest first); an offset cursor would now repeat page 1's tail.
    now = dt.datetime.now(dt.UTC)
    inserted = await insert_jobs(owner, "initech", [now + dt.timedelta(minutes=i) for i in range(3)])
    try:
        page2 = await q(client, issuer, JOBS, org="initech", first=5, after=page1["pageInfo"]["endCursor"])
        page2 = page2["syncJobs"]
        assert ids_of(page2) == everything[5:10]
        assert page2["pageInfo"]["hasPreviousPage"] is True
        # Backwards from page 2: exactly page 1, however many rows now precede it.
        back = await q(client, issuer, JOBS, org="initech", last=5, before=page2["pageInfo"]["startCursor"])
        back = back["syncJobs"]
        assert ids_of(back) == everything[:5]
        assert back["pageInfo"]["hasPreviousPage"] is True and back["pageInfo"]["hasNextPage"] is True
        # `last` alone reads the end of the list without counting it.
        tail = (await q(client, issuer, JOBS, org="initech", last=4))["syncJobs"]
        assert ids_of(tail) == everything[-4:]
        assert tail["pageInfo"]["hasNextPage"] is False and tail["pageInfo"]["hasPreviousPage"] is True
        # first + before and after + last: the rows between two cursors.
        between_first = (
            await q(
                client,
                issuer,
                JOBS,
                org="initech",
                first=2,
                after=page1["edges"][1]["cursor"],
                before=page2["edges"][1]["cursor"],
            )
        )["syncJobs"]
        assert ids_of(between_first) == everything[2:4] and between_first["pageInfo"]["hasNextPage"] is True
        between_last = (
            await q(
                client,
                issuer,
                JOBS,
                org="initech",
                last=10,
                after=page1["edges"][1]["cursor"],
                before=page2["edges"][1]["cursor"],
            )
        )["syncJobs"]
        assert ids_of(between_last) == everything[2:6] and between_last["pageInfo"]["hasPreviousPage"] is False
    finally:
        await owner.execute("DELETE FROM sync_jobs WHERE id = ANY($1::uuid[])", inserted)


async def test_a_cursor_of_another_list_is_refused(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    jobs = (await q(client, issuer, JOBS, org="initech", first=1))["syncJobs"]
    refused = await error(
        client,
        issuer,
        "query($after: String) { organization { actionLogs(first: 1, after: $after) { totalCount } } }",
        after=jobs["pageInfo"]["endCursor"],
    )
    assert refused["extensions"]["code"] == "BAD_USER_INPUT" and "another connection" in refused["message"]


# --- orderings: every field of every list, both ways, ties broken by id ---------------------

TODAY = dt.datetime.now(dt.UTC).date()
RANGE = {"from": str(TODAY - dt.timedelta(days=13)), "to": str(TODAY)}
PERF = (
    "performance(from: $from, to: $to) "
    "{ impressions clicks spend { amount } conversions revenue { amount } ctr cpc { amount } cpa { amount } roas }"
)
KPIS = ["SPEND", "REVENUE", "ROAS", "CTR", "CPC", "CPA", "CONVERSIONS", "IMPRESSIONS", "CLICKS"]


def text(name: str) -> Any:
    return lambda node: ("text", node[name])


def enum(name: str) -> Any:
    return lambda node: ("text", node[name].lower())


def instant(name: str) -> Any:
    return lambda node: None if node[name] is None else dt.datetime.fromisoformat(node[name])


def plain(name: str) -> Any:
    return lambda node: node[name]


def kpi(name: str) -> Any:
    def value(node: dict[str, Any]) -> Any:
        # Money figures are {amount}; counts and ratios are plain numbers.
        perf = {k: v["amount"] if isinstance(v, dict) else v for k, v in node["performance"].items()}
        if not any(Decimal(str(perf[m])) for m in ("impressions", "clicks", "spend", "conversions", "revenue")):
            return None  # no metrics in the range: the sort key is NULL, last either way
        return None if perf[name] is None else Decimal(str(perf[name]))

    return value


# list field -> (node type, selection, {order field: sort key of a node})
LISTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "channels": (
        "Channel",
        "platform name status createdAt",
        {
            "PLATFORM": enum("platform"),
            "NAME": text("name"),
            "STATUS": enum("status"),
            "CREATED_AT": instant("createdAt"),
        },
    ),
    "campaigns": (
        "Campaign",
        f"name status createdAt updatedAt startDate dailyBudget {{ amount }} {PERF}",
        {
            "NAME": text("name"),
            "STATUS": enum("status"),
            "CREATED_AT": instant("createdAt"),
            "UPDATED_AT": instant("updatedAt"),
            "START_DATE": plain("startDate"),
            "DAILY_BUDGET": lambda node: Decimal(node["dailyBudget"]["amount"]),
            **{k: kpi(k.lower()) for k in KPIS},
        },
    ),
    "creatives": (
        "Creative",
        f"name status format createdAt updatedAt {PERF}",
        {
            "NAME": text("name"),
            "STATUS": enum("status"),
            "FORMAT": enum("format"),
            "CREATED_AT": instant("createdAt"),
            "UPDATED_AT": instant("updatedAt"),
            **{k: kpi(k.lower()) for k in KPIS},
        },
    ),
    "cohorts": ("Cohort", "cohortMonth customers", {"MONTH": plain("cohortMonth"), "CUSTOMERS": plain("customers")}),
    "brainStates": (
        "BrainState",
        "module version computedAt",
        {"COMPUTED_AT": instant("computedAt"), "MODULE": enum("module"), "VERSION": plain("version")},
    ),
    "credentials": (
        "ApiCredential",
        "platform status createdAt lastUsedAt",
        {
            "PLATFORM": enum("platform"),
            "STATUS": enum("status"),
            "CREATED_AT": instant("createdAt"),
            "LAST_USED_AT": instant("lastUsedAt"),
        },
    ),
    "syncJobs": (
        "SyncJob",
        "status platform recordsSynced createdAt startedAt finishedAt",
        {
            "CREATED_AT": instant("createdAt"),
            "STARTED_AT": instant("startedAt"),
            "FINISHED_AT": instant("finishedAt"),
            "STATUS": enum("status"),
            "PLATFORM": enum("platform"),
            "RECORDS_SYNCED": plain("recordsSynced"),
        },
    ),
    "actionLogs": (
        "ActionLog",
        "action status createdAt",
        {"CREATED_AT": instant("createdAt"), "ACTION": text("action"), "STATUS": enum("status")},
    ),
}


async def collation(conn: asyncpg.Connection, values: list[str]) -> dict[str, int]:
    """The rank of each text in the database's own collation, the one its ORDER BY follows."""
    ordered = await conn.fetchval("SELECT array_agg(v ORDER BY v) FROM unnest($1::text[]) v", sorted(set(values)))
    return {value: i for i, value in enumerate(ordered)}


def raw_uuid(global_id: str) -> UUID:
    return UUID(from_global_id(global_id)[1])


async def assert_ordered(conn: asyncpg.Connection, nodes: list[dict[str, Any]], key: Any, descending: bool) -> None:
    keys = [key(n) for n in nodes]
    texts = [k[1] for k in keys if isinstance(k, tuple)]
    rank = await collation(conn, texts) if texts else {}
    keys = [rank[k[1]] if isinstance(k, tuple) else k for k in keys]
    ids = [raw_uuid(n["id"]) for n in nodes]
    for i in range(len(nodes) - 1):
        a, b = keys[i], keys[i + 1]
        if a is None:
            assert b is None, f"NULL before a value at {i}"
        if b is None or a is None or a == b:
            if (a is None) == (b is None):  # a tie: the id decides, the way the first key goes
                assert (ids[i] > ids[i + 1]) if descending else (ids[i] < ids[i + 1]), f"tie at {i} not by id"
            continue
        assert (a > b) if descending else (a < b), f"out of order at {i}: {a!r}, {b!r}"


def list_query(field: str, selection: str, args: str = "") -> str:
    """A query of one list with `orderBy: $o` (and, for campaigns and creatives, the KPI range $from..$to)."""
    type_name = LISTS[field][0]
    measured = field in ("campaigns", "creatives")
    declared = ", $from: Date!, $to: Date!" if measured or "$from" in selection else ""
    declared += ", $campaign: ID" if "$campaign" in args else ""
    metrics_range = ", metricsRange: {from: $from, to: $to}" if measured else ""
    return f"""query($o: [{type_name}Order!], $after: String{declared}) {{ organization {{
      {field}({args}first: 100, after: $after, orderBy: $o{metrics_range}) {{
        totalCount pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ id {selection} }} }} }} }} }}"""


async def first_campaign(client: httpx.AsyncClient, issuer: TestIssuer) -> str:
    data = await q(client, issuer, "{ organization { campaigns(first: 1) { edges { node { id } } } } }")
    campaign_id: str = data["campaigns"]["edges"][0]["node"]["id"]
    return campaign_id


@pytest.mark.parametrize(("field", "order"), [(f, o) for f, (_, _, keys) in LISTS.items() for o in keys])
async def test_every_ordering_both_ways_with_ties_by_id(
    client: httpx.AsyncClient, issuer: TestIssuer, owner: asyncpg.Connection, field: str, order: str
) -> None:
    _, selection, keys = LISTS[field]
    # Creatives: one campaign's 20, through the organization-wide list's filter, so one page holds them all.
    args = "filter: {campaignId: $campaign}, " if field == "creatives" else ""
    query = list_query(field, selection, args)
    variables: dict[str, Any] = {**RANGE}
    if field == "creatives":
        variables["campaign"] = await first_campaign(client, issuer)
    for direction in ("ASC", "DESC"):
        data = (await q(client, issuer, query, o=[{"field": order, "direction": direction}], **variables))[field]
        nodes = [e["node"] for e in data["edges"]]
        assert len(nodes) == min(data["totalCount"], 100) and len(nodes) > 1
        await assert_ordered(owner, nodes, keys[order], direction == "DESC")


# --- filters ------------------------------------------------------------------------------

CAMPAIGNS = """query($f: CampaignFilter) { organization { campaigns(first: 100, filter: $f) {
  totalCount edges { node { id name status startDate dailyBudget { amount } channel { platform } } } } } }"""


def node_ids(connection: dict[str, Any]) -> set[str]:
    return {e["node"]["id"] for e in connection["edges"]}


async def test_numeric_comparisons_each_operator(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    everything = (await q(client, issuer, CAMPAIGNS))["campaigns"]["edges"]
    budgets = {e["node"]["id"]: Decimal(e["node"]["dailyBudget"]["amount"]) for e in everything}
    pivot = sorted(budgets.values())[len(budgets) // 2]
    expected = {
        "eq": {i for i, b in budgets.items() if b == pivot},
        "gt": {i for i, b in budgets.items() if b > pivot},
        "gte": {i for i, b in budgets.items() if b >= pivot},
        "lt": {i for i, b in budgets.items() if b < pivot},
        "lte": {i for i, b in budgets.items() if b <= pivot},
    }
    for op, wanted in expected.items():
        found = (await q(client, issuer, CAMPAIGNS, f={"dailyBudget": {op: str(pivot)}}))["campaigns"]
        assert node_ids(found) == wanted and found["totalCount"] == len(wanted), op
    # Bounds combine: every one given must hold.
    low, high = sorted(budgets.values())[10], sorted(budgets.values())[40]
    both = (await q(client, issuer, CAMPAIGNS, f={"dailyBudget": {"gte": str(low), "lt": str(high)}}))["campaigns"]
    assert node_ids(both) == {i for i, b in budgets.items() if low <= b < high}

    jobs_query = """query($f: SyncJobFilter) { organization { syncJobs(first: 100, filter: $f) {
      edges { node { id recordsSynced } } } } }"""
    jobs = (await q(client, issuer, jobs_query))["syncJobs"]["edges"]
    records = {e["node"]["id"]: e["node"]["recordsSynced"] for e in jobs}
    pivot_records = sorted(records.values())[len(records) // 2]
    for op, test in (
        ("eq", int.__eq__),
        ("gt", int.__gt__),
        ("gte", int.__ge__),
        ("lt", int.__lt__),
        ("lte", int.__le__),
    ):
        found = (await q(client, issuer, jobs_query, f={"recordsSynced": {op: pivot_records}}))["syncJobs"]
        assert node_ids(found) == {i for i, r in records.items() if test(r, pivot_records)}, op


async def test_time_and_day_ranges_at_their_bounds(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    jobs_query = """query($f: SyncJobFilter) { organization { syncJobs(first: 100, filter: $f) {
      edges { node { id createdAt } } } } }"""
    jobs = {e["node"]["id"]: e["node"]["createdAt"] for e in (await q(client, issuer, jobs_query))["syncJobs"]["edges"]}
    moment = sorted(jobs.values())[5]
    at = dt.datetime.fromisoformat(moment)
    since = (await q(client, issuer, jobs_query, f={"createdAt": {"from": moment}}))["syncJobs"]
    assert node_ids(since) == {i for i, t in jobs.items() if dt.datetime.fromisoformat(t) >= at}  # inclusive
    until = (await q(client, issuer, jobs_query, f={"createdAt": {"to": moment}}))["syncJobs"]
    assert node_ids(until) == {i for i, t in jobs.items() if dt.datetime.fromisoformat(t) < at}  # exclusive
    instant = (await q(client, issuer, jobs_query, f={"createdAt": {"from": moment, "to": moment}}))["syncJobs"]
    assert instant["edges"] == []

    cohorts_query = """query($f: CohortFilter) { organization { cohorts(first: 100, filter: $f) {
      edges { node { id cohortMonth } } } } }"""
    cohorts = {
        e["node"]["id"]: e["node"]["cohortMonth"] for e in (await q(client, issuer, cohorts_query))["cohorts"]["edges"]
    }
    month = sorted(set(cohorts.values()))[2]
    one = (await q(client, issuer, cohorts_query, f={"month": {"from": month, "to": month}}))["cohorts"]
    assert node_ids(one) == {i for i, m in cohorts.items() if m == month} != set()  # both days inclusive
    later = (await q(client, issuer, cohorts_query, f={"month": {"from": month}}))["cohorts"]
    assert node_ids(later) == {i for i, m in cohorts.items() if m >= month}

    states_query = """query($f: BrainStateFilter) { organization { brainStates(first: 100, filter: $f) {
      edges { node { module version } } } } }"""
    recent = await q(client, issuer, states_query, f={"version": {"gte": 4}, "module": ["ORACLE", "MEMORY"]})
    assert sorted((e["node"]["module"], e["node"]["version"]) for e in recent["brainStates"]["edges"]) == [
        ("MEMORY", 4),
        ("MEMORY", 5),
        ("ORACLE", 4),
        ("ORACLE", 5),
    ]


async def test_status_and_enum_filters_take_lists(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    everything = (await q(client, issuer, CAMPAIGNS))["campaigns"]["edges"]
    for statuses in (["ACTIVE"], ["PAUSED", "ARCHIVED"], ["ACTIVE", "PAUSED", "ARCHIVED"]):
        found = (await q(client, issuer, CAMPAIGNS, f={"status": statuses}))["campaigns"]
        assert node_ids(found) == {e["node"]["id"] for e in everything if e["node"]["status"] in statuses}
    both = (await q(client, issuer, CAMPAIGNS, f={"status": ["ACTIVE"], "platform": ["META", "GOOGLE"]}))["campaigns"]
    assert node_ids(both) == {
        e["node"]["id"]
        for e in everything
        if e["node"]["status"] == "ACTIVE" and e["node"]["channel"]["platform"] in ("META", "GOOGLE")
    }
    channels = await q(
        client,
        issuer,
        "{ organization { channels(filter: {platform: [EMAIL, META]}) { edges { node { platform } } } } }",
    )
    assert sorted(e["node"]["platform"] for e in channels["channels"]["edges"]) == ["EMAIL", "META"]
    logs = await q(
        client,
        issuer,
        """{ organization { actionLogs(first: 100, filter: {action: [UPDATE_CAMPAIGN_BUDGET], status: [SUCCEEDED],
          actorKind: [USER]}) { totalCount edges { node { action status actorKind } } } } }""",
    )
    assert logs["actionLogs"]["totalCount"] >= 30
    assert {
        (n["node"]["action"], n["node"]["status"], n["node"]["actorKind"]) for n in logs["actionLogs"]["edges"]
    } == {("UPDATE_CAMPAIGN_BUDGET", "SUCCEEDED", "USER")}


async def test_name_search_takes_wildcards_literally(
    client: httpx.AsyncClient, issuer: TestIssuer, owner: asyncpg.Connection
) -> None:
    org = await org_id(owner, "initech")
    channel = await owner.fetchval("SELECT id FROM channels WHERE organization_id = $1 LIMIT 1", org)
    names = ["Sale 50% off", "Sale 50 off", "snake_case", "snakeXcase", "back\\slash", "BACKslash"]
    ids = [uuid4() for _ in names]
    await owner.executemany(
        "INSERT INTO campaigns (id, organization_id, channel_id, external_id, name) VALUES ($1, $2, $3, $4, $5)",
        [(i, org, channel, f"literal-{i}", name) for i, name in zip(ids, names, strict=True)],
    )
    try:
        for text_, wanted in (("50%", ["Sale 50% off"]), ("e_c", ["snake_case"]), ("K\\S", ["back\\slash"])):
            found = await q(client, issuer, CAMPAIGNS, org="initech", f={"nameContains": text_})
            assert sorted(e["node"]["name"] for e in found["campaigns"]["edges"]) == wanted, text_
        either = await q(client, issuer, CAMPAIGNS, org="initech", f={"nameContains": "SLASH"})
        assert sorted(e["node"]["name"] for e in either["campaigns"]["edges"]) == ["BACKslash", "back\\slash"]
    finally:
        await owner.execute("DELETE FROM campaigns WHERE id = ANY($1::uuid[])", ids)


# --- counts by status ---------------------------------------------------------------------


async def test_counts_by_status_with_and_without_filters(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    everything = (await q(client, issuer, CAMPAIGNS))["campaigns"]["edges"]
    counted = """query($f: CampaignFilter) { organization { campaigns(first: 1, filter: $f) {
      totalCount countsByStatus { status count } } } }"""
    plain_counts = (await q(client, issuer, counted))["campaigns"]
    assert [c["status"] for c in plain_counts["countsByStatus"]] == ["ACTIVE", "PAUSED", "ARCHIVED"]
    for c in plain_counts["countsByStatus"]:
        assert c["count"] == sum(1 for e in everything if e["node"]["status"] == c["status"])
    assert sum(c["count"] for c in plain_counts["countsByStatus"]) == plain_counts["totalCount"] == 60
    # Every filter but the status one applies: each tab shows what choosing it would list.
    flt = {"status": ["PAUSED"], "platform": ["META"]}
    filtered = (await q(client, issuer, counted, f=flt))["campaigns"]
    meta = [e["node"] for e in everything if e["node"]["channel"]["platform"] == "META"]
    by_status = {c["status"]: c["count"] for c in filtered["countsByStatus"]}
    assert by_status == {s: sum(1 for n in meta if n["status"] == s) for s in ("ACTIVE", "PAUSED", "ARCHIVED")}
    assert filtered["totalCount"] == by_status["PAUSED"]

    jobs = await q(
        client,
        issuer,
        """{ organization { syncJobs(filter: {status: [FAILED], platform: [META]}) { totalCount
          countsByStatus { status count } } } }""",
    )
    statuses = {c["status"]: c["count"] for c in jobs["syncJobs"]["countsByStatus"]}
    assert list(statuses) == ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED"]  # zeros included
    assert statuses["FAILED"] == jobs["syncJobs"]["totalCount"]

    nested = await q(
        client,
        issuer,
        """{ organization { campaigns(first: 5) { edges { node { id
          creatives(first: 100, filter: {status: [ACTIVE]}) { totalCount countsByStatus { status count }
            edges { node { id } } }
          all: creatives(first: 100) { edges { node { status } } } } } } } }""",
    )
    for edge in nested["campaigns"]["edges"]:
        node = edge["node"]
        counts = {c["status"]: c["count"] for c in node["creatives"]["countsByStatus"]}
        assert counts == {
            s: sum(1 for e in node["all"]["edges"] if e["node"]["status"] == s)
            for s in ("ACTIVE", "PAUSED", "ARCHIVED")
        }
        assert node["creatives"]["totalCount"] == counts["ACTIVE"] == len(node["creatives"]["edges"])


async def test_counts_by_status_is_one_statement_asked_only_when_selected(
    client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    async def trips(query: str) -> int:
        body = await gql(client, query, token=issuer.token("acme", "owner"), headers={"X-Omnify-Debug": "stores"})
        assert "errors" not in body, body
        count: int = body["extensions"]["stores"]["postgres"]["roundTrips"]
        return count

    page_only = await trips("{ organization { campaigns(first: 2) { edges { node { id } } } } }")
    with_counts = await trips(
        "{ organization { campaigns(first: 2) { edges { node { id } } countsByStatus { count } } } }"
    )
    assert with_counts == page_only + 1
    nested = (
        "{ organization { campaigns(first: 10) { edges { node { creatives(first: 2) { edges { node { id } } } } } } } }"
    )
    nested_counts = nested.replace(
        "edges { node { id } } } } } }", "edges { node { id } } countsByStatus { count } } } } }"
    )
    assert await trips(nested_counts) == await trips(nested) + 1  # one statement for all ten campaigns


# --- keyset under other orderings, nested lists, refused cursors -----------------------------

RANKED = """query($o: [CampaignOrder!], $first: Int, $after: String, $last: Int, $before: String, $from: Date!, $to: Date!) {
  organization { campaigns(first: $first, after: $after, last: $last, before: $before, orderBy: $o,
    metricsRange: {from: $from, to: $to}) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { node { id } } } } }"""


@pytest.mark.parametrize(
    "order",
    [
        [{"field": "ROAS", "direction": "DESC"}],
        [{"field": "START_DATE"}, {"field": "CPA", "direction": "DESC"}, {"field": "NAME"}],
    ],
)
async def test_keyset_walks_under_kpi_and_mixed_orderings(
    client: httpx.AsyncClient, issuer: TestIssuer, order: list[dict[str, str]]
) -> None:
    everything = ids_of((await q(client, issuer, RANKED, o=order, first=100, **RANGE))["campaigns"])
    assert len(everything) == 60
    forward: list[str] = []
    after = None
    while True:
        page = (await q(client, issuer, RANKED, o=order, first=7, after=after, **RANGE))["campaigns"]
        forward += ids_of(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert forward == everything
    backward: list[str] = []
    before = None
    while True:
        page = (await q(client, issuer, RANKED, o=order, last=9, before=before, **RANGE))["campaigns"]
        backward = ids_of(page) + backward
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert backward == everything


async def test_nested_lists_page_by_their_own_cursors(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    query = """query($after: String, $from: Date!, $to: Date!) { organization { channels { edges { node { id
      campaigns(first: 4, after: $after, orderBy: [{field: SPEND, direction: DESC}], metricsRange: {from: $from, to: $to}) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { id } } }
      all: campaigns(first: 100, orderBy: [{field: SPEND, direction: DESC}], metricsRange: {from: $from, to: $to}) {
        edges { node { id } } } } } } } }"""
    first = (await q(client, issuer, query, **RANGE))["channels"]["edges"]
    for edge in first:
        node = edge["node"]
        assert ids_of(node["campaigns"]) == ids_of(node["all"])[:4] and node["campaigns"]["pageInfo"]["hasNextPage"]
    # One channel's cursor pages every channel past the same sort values: for its own channel, the next page.
    cursor = first[0]["node"]["campaigns"]["pageInfo"]["endCursor"]
    second = (await q(client, issuer, query, after=cursor, **RANGE))["channels"]["edges"]
    assert ids_of(second[0]["node"]["campaigns"]) == ids_of(first[0]["node"]["all"])[4:8]


async def test_a_cursor_of_another_order_or_range_is_refused(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    by_name = (await q(client, issuer, RANKED, o=[{"field": "NAME"}], first=2, **RANGE))["campaigns"]
    cursor = by_name["pageInfo"]["endCursor"]
    assert len(cursor) < 200
    for order in (
        [{"field": "NAME", "direction": "DESC"}],
        [{"field": "CREATED_AT"}],
        [{"field": "NAME"}, {"field": "STATUS"}],
    ):
        refused = await error(client, issuer, RANKED, o=order, first=2, after=cursor, **RANGE)
        assert refused["extensions"]["code"] == "BAD_USER_INPUT" and "orderBy" in refused["message"]
    by_spend = (await q(client, issuer, RANKED, o=[{"field": "SPEND"}], first=2, **RANGE))["campaigns"]
    other_range = {"from": str(TODAY - dt.timedelta(days=20)), "to": str(TODAY)}
    refused = await error(
        client, issuer, RANKED, o=[{"field": "SPEND"}], first=2, after=by_spend["pageInfo"]["endCursor"], **other_range
    )
    assert refused["extensions"]["code"] == "BAD_USER_INPUT"
    # The same order and range: accepted.
    assert await q(
        client, issuer, RANKED, o=[{"field": "SPEND"}], first=2, after=by_spend["pageInfo"]["endCursor"], **RANGE
    )


README = DOCS  # README.md and docs/*.md


async def test_the_readme_list_example_runs(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    (example,) = [b for b in re.findall(r"```graphql\n(.*?)```", README, re.S) if "countsByStatus" in b]
    jobs = (await q(client, issuer, example))["syncJobs"]
    assert len(jobs["countsByStatus"]) == 4 and all(e["node"]["error"] for e in jobs["edges"])


def forged(key: str, signature: str, *values: str) -> str:
    raw = f'["{key}","{signature}",{",".join(values)}]'
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


async def test_forged_cursor_values_are_bad_user_input(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    by_budget = ordering_of([Sort("daily_budget")], campaigns.SORTABLE)
    _, by_roas = measured_ordering(
        Where(),
        [Sort("roas")],
        campaigns.SORTABLE,
        "campaign_id",
        DayRange(dt.date.fromisoformat(RANGE["from"]), TODAY),
    )
    tie = f'["u","{uuid4().hex}"]'
    cases = [
        ([{"field": "DAILY_BUDGET"}], forged("Organization.campaigns", by_budget.signature, '["n","1e999999"]', tie)),
        ([{"field": "DAILY_BUDGET"}], forged("Organization.campaigns", by_budget.signature, '["n","NaN"]', tie)),
        ([{"field": "DAILY_BUDGET"}], forged("Organization.campaigns", by_budget.signature, '{"$gt":""}', tie)),
        ([{"field": "ROAS"}], forged("Organization.campaigns", by_roas.signature, '["f",NaN]', tie)),
        ([{"field": "ROAS"}], forged("Organization.campaigns", by_roas.signature, '["f",1.5]', '["u","zz"]')),
    ]
    for order, cursor in cases:
        refused = await error(client, issuer, RANKED, o=order, first=2, after=cursor, **RANGE)
        assert refused["extensions"]["code"] == "BAD_USER_INPUT", cursor
    # A well-formed one of the same shape is accepted: the refusals above are about the values.
    accepted = forged("Organization.campaigns", by_roas.signature, '["f",1.5]', tie)
    assert await q(client, issuer, RANKED, o=[{"field": "ROAS"}], first=2, after=accepted, **RANGE)


EMPTY_PAGES = """query($f: CampaignFilter, $after: String, $before: String) { organization {
  forward: campaigns(first: 0, filter: $f, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage } }
  backward: campaigns(last: 0, filter: $f, before: $before) { pageInfo { hasNextPage hasPreviousPage } }
  nested: campaigns(first: 2, filter: $f) { edges { cursor node { creatives(first: 0) {
    totalCount pageInfo { hasNextPage hasPreviousPage } } } } } } }"""


async def test_pages_of_no_rows_still_say_what_lies_beyond(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    found = await q(client, issuer, EMPTY_PAGES)
    assert found["forward"]["totalCount"] > 2
    assert found["forward"]["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": False}
    assert found["backward"]["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True}
    for edge in found["nested"]["edges"]:
        creatives = edge["node"]["creatives"]
        assert creatives["pageInfo"] == {"hasNextPage": creatives["totalCount"] > 0, "hasPreviousPage": False}
    # From the last row on, nothing follows; before the first row, nothing precedes.
    ends_of_list = await q(
        client,
        issuer,
        "{ organization { head: campaigns(first: 1) { edges { cursor } } tail: campaigns(last: 1) { edges { cursor } } } }",
    )
    first_row, last_row = (ends_of_list[end]["edges"][0]["cursor"] for end in ("head", "tail"))
    ends = await q(client, issuer, EMPTY_PAGES, after=last_row, before=first_row)
    assert ends["forward"]["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True}
    assert ends["backward"]["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": False}
    none = await q(client, issuer, EMPTY_PAGES, f={"nameContains": "no campaign is called this"})
    assert none["forward"] == {"totalCount": 0, "pageInfo": {"hasNextPage": False, "hasPreviousPage": False}}
    assert none["backward"]["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": False}
