"""Lookups by platform id, metrics named by platform id, channel management and the sync job queue, over real HTTP.

Each test makes its own organizations (see tests/test_catalog_sync.py), so
nothing here shows in another test's counts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import asyncpg
import httpx

from tests.conftest import Stores, gql
from tests.support.issuer import TestIssuer
from tests.test_catalog_sync import Org, _drop_new_orgs, catalog, new_org, sync

__all__ = ["_drop_new_orgs"]  # the autouse fixture applies here too

LOOKUP = """query($p: Platform!, $a: String!, $c: String!, $k: String!) { organization {
  channel(platform: $p, externalAccountId: $a) { id name externalAccountId status }
  campaign(platform: $p, externalId: $c) { id externalId channel { externalAccountId } }
  creative(platform: $p, externalId: $k) { id externalId campaign { externalId } }
  channels(filter: {externalAccountId: $a}) { edges { node { id } } }
  campaigns(filter: {externalId: $c}) { edges { node { id } } }
  creatives(filter: {externalId: $k}) { edges { node { id } } } } }"""
INGEST = """mutation($input: IngestDailyMetricsInput!) { ingestDailyMetrics(input: $input) {
  syncJob { id status recordsSynced } rowsUpserted userErrors { code field } } }"""
REQUEST = """mutation($input: RequestSyncInput!) { requestSync(input: $input) {
  syncJob { id status platform startedAt channel { id externalAccountId } } actionLog { action }
  userErrors { code field } } }"""
START = """mutation($input: StartSyncJobInput!) { startSyncJob(input: $input) {
  syncJob { id status startedAt channel { id } } userErrors { code field } } }"""
FINISH = """mutation($input: FinishSyncJobInput!) { finishSyncJob(input: $input) {
  syncJob { id status recordsSynced } userErrors { code field } } }"""
CHANNEL_FIELDS = "channel { id name status externalAccountId } actionLog { action } userErrors { code field }"
CONNECT = f"mutation($input: ConnectChannelInput!) {{ connectChannel(input: $input) {{ {CHANNEL_FIELDS} }} }}"
UPDATE = f"mutation($input: UpdateChannelInput!) {{ updateChannel(input: $input) {{ {CHANNEL_FIELDS} }} }}"
DISCONNECT = f"mutation($input: DisconnectChannelInput!) {{ disconnectChannel(input: $input) {{ {CHANNEL_FIELDS} }} }}"


async def data(client: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
    body = await gql(client, query, variables, token=token)
    assert "errors" not in body, body
    found: dict[str, Any] = next(iter(body["data"].values()))
    return found


async def refused(client: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str) -> None:
    body = await gql(client, query, variables, token=token)
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body


def lookup(account: str = "act_1", campaign: str = "cmp-1", creative: str = "crv-1") -> dict[str, str]:
    return {"p": "META", "a": account, "c": campaign, "k": creative}


def day(n: int) -> str:
    return (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=n)).isoformat()


def metric(n: int, **ref: Any) -> dict[str, Any]:
    figures = {"impressions": 100 + n, "clicks": 10, "spend": "5.00", "conversions": 1, "revenue": "20.00"}
    return {**ref, "date": day(3), **figures}


async def test_lookups_and_filters_by_platform_id_see_only_your_organization(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    first, second = await new_org(seeded), await new_org(seeded)
    mine = await sync(client, first.partner(issuer), catalog(campaigns=3, creatives=6))
    found = await data(client, LOOKUP, lookup(), first.person(issuer, "viewer"))
    assert found["channel"]["id"] == mine["channels"][0]["id"] and found["channel"]["externalAccountId"] == "act_1"
    assert found["campaign"]["id"] == mine["campaigns"][1]["id"]
    assert found["campaign"]["channel"]["externalAccountId"] == "act_1"
    assert (
        found["creative"]["id"] == mine["creatives"][1]["id"] and found["creative"]["campaign"]["externalId"] == "cmp-1"
    )
    assert [e["node"]["id"] for e in found["campaigns"]["edges"]] == [found["campaign"]["id"]]
    assert [e["node"]["id"] for e in found["creatives"]["edges"]] == [found["creative"]["id"]]
    assert [e["node"]["id"] for e in found["channels"]["edges"]] == [found["channel"]["id"]]
    # The same platform ids, asked by another organization that has none of them.
    none = await data(client, LOOKUP, lookup(), second.person(issuer, "owner"))
    assert none == {
        "channel": None,
        "campaign": None,
        "creative": None,
        "channels": {"edges": []},
        "campaigns": {"edges": []},
        "creatives": {"edges": []},
    }
    unknown = await data(client, LOOKUP, lookup(campaign="cmp-9", creative="crv-99"), first.partner(issuer))
    assert unknown["campaign"] is None and unknown["creative"] is None


async def test_metrics_name_creatives_by_platform_id(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    org, other = await new_org(seeded), await new_org(seeded)
    synced = await sync(client, org.partner(issuer), catalog(campaigns=2, creatives=4))
    await sync(client, other.partner(issuer), catalog(campaigns=2, creatives=8, account="act_other"))
    token = org.partner(issuer, scope="metrics:write")
    rows = [
        metric(0, creative={"platform": "META", "externalId": "crv-0"}),
        metric(1, creativeId=synced["creatives"][1]["id"]),
        metric(2, creative={"platform": "META", "externalId": "crv-2"}, campaignId=synced["campaigns"][0]["id"]),
    ]
    done = await data(client, INGEST, {"input": {"rows": rows}}, token)
    assert done["userErrors"] == [] and done["rowsUpserted"] == 3
    bad = [
        metric(0, creative={"platform": "META", "externalId": "crv-0"}, creativeId=synced["creatives"][0]["id"]),
        metric(1),
        metric(2, creative={"platform": "META", "externalId": "crv-7"}),  # the other organization's only
        metric(3, creative={"platform": "GOOGLE", "externalId": "crv-3"}),
        metric(4, creative={"platform": "META", "externalId": "crv-1"}, campaignId=synced["campaigns"][0]["id"]),
        metric(5, creative={"platform": "META", "externalId": "crv-3"}),
    ]
    rejected = await data(client, INGEST, {"input": {"rows": bad}}, token)
    assert [(e["code"], e["field"]) for e in rejected["userErrors"]] == [
        ("CREATIVE_REFERENCE", "rows[0].creativeId"),
        ("CREATIVE_REFERENCE", "rows[1].creativeId"),
        ("NOT_FOUND", "rows[2].creative"),
        ("NOT_FOUND", "rows[3].creative"),
        ("CAMPAIGN_MISMATCH", "rows[4].campaignId"),
    ]
    conn = await asyncpg.connect(seeded.database_url)
    try:
        written = await conn.fetch(
            "SELECT cr.external_id, m.impressions FROM daily_metrics m JOIN creatives cr ON cr.id = m.creative_id "
            "WHERE m.organization_id = $1 ORDER BY 1",
            org.id,
        )
        others = await conn.fetchval("SELECT count(*) FROM daily_metrics WHERE organization_id = $1", other.id)
    finally:
        await conn.close()
    assert [tuple(r) for r in written] == [("crv-0", 100), ("crv-1", 101), ("crv-2", 102)]
    assert others == 0


async def channel_of(client: httpx.AsyncClient, issuer: TestIssuer, org: Org) -> str:
    done = await data(
        client,
        CONNECT,
        {"input": {"platform": "META", "name": "Meta", "externalAccountId": "act_1"}},
        org.person(issuer, "admin"),
    )
    assert done["userErrors"] == [] and done["channel"]["status"] == "ACTIVE"
    channel_id: str = done["channel"]["id"]
    return channel_id


async def test_requested_jobs_are_claimed_once_then_run_and_finish(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    org, stranger = await new_org(seeded), await new_org(seeded)
    channel = await channel_of(client, issuer, org)
    marketer, partner = org.person(issuer, "marketer"), org.partner(issuer)
    queued = await data(client, REQUEST, {"input": {"channelId": channel}}, marketer)
    job = queued["syncJob"]
    assert queued["userErrors"] == [] and queued["actionLog"]["action"] == "REQUEST_SYNC"
    assert (job["status"], job["platform"], job["startedAt"]) == ("QUEUED", "META", None)
    assert job["channel"] == {"id": channel, "externalAccountId": "act_1"}
    # Two workers claim the job at once: exactly one wins.
    claims = await asyncio.gather(
        *(data(client, START, {"input": {"syncJobId": job["id"]}}, partner) for _ in range(2))
    )
    winners = [c for c in claims if c["userErrors"] == []]
    losers = [c for c in claims if c["userErrors"]]
    assert len(winners) == 1 and len(losers) == 1
    assert winners[0]["syncJob"]["status"] == "RUNNING" and winners[0]["syncJob"]["channel"] == {"id": channel}
    assert losers[0]["userErrors"] == [{"code": "NOT_QUEUED", "field": "syncJobId"}] and losers[0]["syncJob"] is None
    await sync(client, partner, catalog(campaigns=1, creatives=2))
    rows = [metric(n, creative={"platform": "META", "externalId": f"crv-{n}"}) for n in range(2)]
    ingested = await data(client, INGEST, {"input": {"syncJobId": job["id"], "rows": rows}}, partner)
    assert ingested["syncJob"] == {"id": job["id"], "status": "RUNNING", "recordsSynced": 2}
    finished = await data(client, FINISH, {"input": {"syncJobId": job["id"], "status": "SUCCEEDED"}}, partner)
    assert finished["syncJob"]["status"] == "SUCCEEDED"
    again = await data(client, START, {"input": {"syncJobId": job["id"]}}, partner)
    assert again["userErrors"] == [{"code": "NOT_QUEUED", "field": "syncJobId"}]
    # Today's way still works: a new running job by platform alone; neither names nothing.
    fresh = await data(client, START, {"input": {"platform": "GOOGLE"}}, partner)
    assert fresh["syncJob"]["status"] == "RUNNING" and fresh["syncJob"]["channel"] is None
    neither = await data(client, START, {"input": {}}, partner)
    assert neither["userErrors"] == [{"code": "PLATFORM_REQUIRED", "field": "platform"}]
    # Another organization's job and channel are unknown here.
    assert (await data(client, START, {"input": {"syncJobId": job["id"]}}, stranger.partner(issuer)))["userErrors"] == [
        {"code": "NOT_FOUND", "field": "syncJobId"}
    ]
    foreign = await data(client, REQUEST, {"input": {"channelId": channel}}, stranger.person(issuer, "owner"))
    assert foreign["userErrors"] == [{"code": "NOT_FOUND", "field": "channelId"}]
    mismatch = await data(client, REQUEST, {"input": {"channelId": channel, "platform": "TIKTOK"}}, marketer)
    assert mismatch["userErrors"] == [{"code": "PLATFORM_MISMATCH", "field": "platform"}]
    for token in (org.person(issuer, "viewer"), partner):  # requesting is for people, marketer and above
        await refused(client, REQUEST, {"input": {"channelId": channel}}, token)
    await refused(client, START, {"input": {"syncJobId": job["id"]}}, marketer)


async def test_a_disconnected_channel_is_kept_and_refuses_syncs(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    org = await new_org(seeded)
    channel = await channel_of(client, issuer, org)
    admin, partner, marketer = org.person(issuer, "admin"), org.partner(issuer), org.person(issuer, "marketer")
    await sync(client, partner, catalog(campaigns=1, creatives=1))  # adopts the connected channel by account id
    queued = (await data(client, REQUEST, {"input": {"channelId": channel}}, marketer))["syncJob"]
    taken = await data(client, CONNECT, {"input": {"platform": "META", "name": "Meta main"}}, admin)
    assert taken["userErrors"] == [{"code": "NAME_TAKEN", "field": "name"}]
    await refused(client, DISCONNECT, {"input": {"channelId": channel}}, marketer)
    await refused(client, CONNECT, {"input": {"platform": "META", "name": "x"}}, partner)
    gone = await data(client, DISCONNECT, {"input": {"channelId": channel}}, admin)
    assert gone["channel"]["status"] == "DISCONNECTED" and gone["actionLog"]["action"] == "DISCONNECT_CHANNEL"
    assert (await data(client, DISCONNECT, {"input": {"channelId": channel}}, admin))["userErrors"] == [
        {"code": "ALREADY_DISCONNECTED", "field": "channelId"}
    ]
    refusals = [
        await data(client, REQUEST, {"input": {"channelId": channel}}, marketer),
        await data(client, START, {"input": {"syncJobId": queued["id"]}}, partner),
        await sync(client, partner, catalog(campaigns=1, creatives=1)),
    ]
    assert [r["userErrors"][0]["code"] for r in refusals] == ["CHANNEL_DISCONNECTED"] * 3
    kept = await data(client, LOOKUP, lookup(campaign="cmp-0", creative="crv-0"), admin)
    assert kept["channel"]["status"] == "DISCONNECTED" and kept["creative"] is not None
    back = await data(
        client, UPDATE, {"input": {"channelId": channel, "status": "ACTIVE", "name": "Meta again"}}, admin
    )
    assert back["channel"] == {"id": channel, "name": "Meta again", "status": "ACTIVE", "externalAccountId": "act_1"}
    claimed = await data(client, START, {"input": {"syncJobId": queued["id"]}}, partner)
    assert claimed["syncJob"]["status"] == "RUNNING"
