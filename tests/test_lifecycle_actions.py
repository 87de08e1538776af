"""Campaign and creative lifecycle: pause, resume, archive, edit at a version, and the bulk actions.

Each test makes its own campaigns and creatives in initech (a channel of the seed, rows written
as the owner login) and removes them, with their action log entries, afterwards.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from pymongo import AsyncMongoClient

from gateway.data.ids import to_global_id, uuid_id
from gateway.ops.seed import uid
from tests.conftest import Stores, gql
from tests.support.issuer import TestIssuer
from tests.support.servers import ServerThread
from tests.test_subscriptions import ACTIONS, next_event, settle, socket

ORG = "initech"
RESULT = "changed results { id outcome creative { id status } actionLog { action targetType targetId } }"
PAUSE_MANY = f"""mutation($input: CreativesStatusInput!) {{ pauseCreatives(input: $input) {{ {RESULT}
  userErrors {{ code field message }} }} }}"""
RESUME_MANY = PAUSE_MANY.replace("pauseCreatives", "resumeCreatives")
PAUSE_CAMPAIGNS = """mutation($input: CampaignsStatusInput!) { pauseCampaigns(input: $input) {
  changed results { id outcome campaign { id status } actionLog { action } } userErrors { code field } } }"""
CAMPAIGN_STATUS = """mutation($input: CampaignStatusInput!) { OP(input: $input) {
  campaign { id status version } archivedCreatives actionLog { action targetType result }
  userErrors { code field message } } }"""
CREATIVE_STATUS = """mutation($input: CreativeStatusInput!) { OP(input: $input) {
  creative { id status } actionLog { action } userErrors { code field } } }"""
UPDATE = """mutation($input: UpdateCampaignInput!) { updateCampaign(input: $input) {
  campaign { id name objective startDate endDate version } currentVersion actionLog { action result }
  userErrors { code field message } } }"""
BUDGET = """mutation($input: UpdateCampaignBudgetInput!) { updateCampaignBudget(input: $input) {
  campaign { version } userErrors { code } } }"""


@dataclass
class Catalog:
    owner: asyncpg.Connection
    bulk_campaign: UUID
    creatives: list[UUID]  # 500 active creatives of bulk_campaign, in no particular order
    campaign: UUID  # a campaign with four creatives: active, active, paused, archived
    small: list[UUID]

    def ids(self, raw: list[UUID], kind: str = "Creative") -> list[str]:
        return [to_global_id(kind, i) for i in raw]

    async def statuses(self, raw: list[UUID]) -> dict[UUID, str]:
        rows = await self.owner.fetch(
            "SELECT id, status FROM creatives WHERE id = ANY($1::uuid[]) UNION ALL "
            "SELECT id, status FROM campaigns WHERE id = ANY($1::uuid[])",
            raw,
        )
        return {r["id"]: r["status"] for r in rows}

    async def logs(self, action: str, raw: list[UUID]) -> Counter[str]:
        rows = await self.owner.fetch(
            "SELECT target_id FROM action_logs WHERE action = $1 AND target_id = ANY($2::text[])",
            action,
            [str(i) for i in raw],
        )
        return Counter(r["target_id"] for r in rows)


@pytest.fixture
async def catalog(seeded: Stores) -> AsyncIterator[Catalog]:
    owner = await asyncpg.connect(seeded.database_url)
    org = uid("org", ORG)
    channel = await owner.fetchval("SELECT id FROM channels WHERE organization_id = $1 ORDER BY id LIMIT 1", org)
    bulk_campaign, campaign = uuid4(), uuid4()
    await owner.executemany(
        "INSERT INTO campaigns (id, organization_id, channel_id, external_id, name, objective, start_date) "
        "VALUES ($1, $2, $3, $4, $5, 'traffic', '2026-01-01')",
        [(c, org, channel, f"lifecycle-{c}", name) for c, name in ((bulk_campaign, "Bulk"), (campaign, "Lifecycle"))],
    )
    creatives = [uuid4() for _ in range(500)]
    small = [uuid4() for _ in range(4)]
    rows = [(c, bulk_campaign, "active") for c in creatives]
    rows += [(c, campaign, s) for c, s in zip(small, ("active", "active", "paused", "archived"), strict=True)]
    await owner.execute(
        "INSERT INTO creatives (id, organization_id, campaign_id, external_id, name, format, status) "
        "SELECT r.id, $1, r.campaign, 'lifecycle-' || r.id, 'Creative ' || r.id, 'image', r.status "
        "FROM unnest($2::uuid[], $3::uuid[], $4::text[]) AS r(id, campaign, status)",
        org,
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
    )
    try:
        yield Catalog(owner, bulk_campaign, creatives, campaign, small)
    finally:
        targets = [str(i) for i in [bulk_campaign, campaign, *creatives, *small]]
        await owner.execute("DELETE FROM action_logs WHERE target_id = ANY($1::text[])", targets)
        await owner.execute("DELETE FROM campaigns WHERE id = ANY($1::uuid[])", [bulk_campaign, campaign])
        await owner.close()


async def run(
    client: httpx.AsyncClient, query: str, input: dict[str, Any], token: str, op: str | None = None
) -> dict[str, Any]:
    body = await gql(client, query.replace("OP", op or "OP"), {"input": input}, token=token)
    assert "errors" not in body, body
    result: dict[str, Any] = next(iter(body["data"].values()))
    return result


def codes(result: dict[str, Any]) -> list[str]:
    return [e["code"] for e in result["userErrors"]]


async def foreign_creatives(client: httpx.AsyncClient, issuer: TestIssuer, n: int) -> list[str]:
    body = await gql(
        client, f"{{ organization {{ creatives(first: {n}) {{ edges {{ node {{ id }} }} }} }} }}", token=issuer.token()
    )
    return [e["node"]["id"] for e in body["data"]["organization"]["creatives"]["edges"]]


# --- bulk ------------------------------------------------------------------------------------


async def test_bulk_pause_of_500_reports_foreign_and_unknown_ids_as_not_found(
    client: httpx.AsyncClient, issuer: TestIssuer, catalog: Catalog
) -> None:
    own = catalog.creatives[:495]
    foreign = await foreign_creatives(client, issuer, 3)  # acme's
    unknown = catalog.ids([uuid4(), uuid4()])
    given = catalog.ids(own) + foreign + unknown
    random.Random(19).shuffle(given)
    foreign_raw = [uuid_id(i, "Creative") for i in foreign]
    foreign_before = await catalog.statuses(foreign_raw)
    token = issuer.token(ORG, "marketer")
    result = await run(client, PAUSE_MANY, {"creativeIds": given, "reason": "CPA over target"}, token)
    assert result["userErrors"] == [] and result["changed"] == 495
    assert [r["id"] for r in result["results"]] == given
    by_outcome = Counter(r["outcome"] for r in result["results"])
    assert by_outcome == {"CHANGED": 495, "NOT_FOUND": 5}
    reported = {r["id"] for r in result["results"] if r["outcome"] == "NOT_FOUND"}
    assert reported == set(foreign) | set(unknown)
    for r in result["results"]:
        if r["outcome"] == "NOT_FOUND":
            assert r["creative"] is None and r["actionLog"] is None
        else:
            assert r["creative"] == {"id": r["id"], "status": "PAUSED"}
            assert r["actionLog"]["action"] == "PAUSE_CREATIVES" and r["actionLog"]["targetType"] == "CREATIVE"
    assert set((await catalog.statuses(own)).values()) == {"paused"}
    assert set((await catalog.statuses(catalog.creatives[495:])).values()) == {"active"}
    logs = await catalog.logs("pauseCreatives", own)
    assert len(logs) == 495 and set(logs.values()) == {1}
    audits = await catalog.owner.fetchval(
        "SELECT count(*) FROM outbox WHERE document->>'action' = 'pauseCreatives' "
        "AND document->'target'->>'id' = ANY($1::text[])",
        [str(i) for i in own],
    )
    assert audits == 495
    # acme's creatives are untouched, and unlogged.
    assert await catalog.statuses(foreign_raw) == foreign_before and len(foreign_before) == 3
    assert not await catalog.logs("pauseCreatives", foreign_raw)
    # Again: nothing to change, nothing logged.
    again = await run(client, PAUSE_MANY, {"creativeIds": given, "reason": "again"}, token)
    assert again["changed"] == 0
    assert Counter(r["outcome"] for r in again["results"]) == {"UNCHANGED": 495, "NOT_FOUND": 5}
    assert sum((await catalog.logs("pauseCreatives", own)).values()) == 495


async def test_bulk_retry_with_the_same_key_returns_the_first_answer(
    client: httpx.AsyncClient, issuer: TestIssuer, catalog: Catalog
) -> None:
    token = issuer.token(ORG, "admin")
    data = {"creativeIds": catalog.ids(catalog.creatives[:20]), "reason": "retry", "idempotencyKey": "bulk-retry-1"}
    first = await run(client, PAUSE_MANY, data, token)
    second = await run(client, PAUSE_MANY, data, token)
    assert first == second and first["changed"] == 20
    assert sum((await catalog.logs("pauseCreatives", catalog.creatives[:20])).values()) == 20


async def test_concurrent_bulk_pause_and_resume_never_leave_a_mixed_state(
    client: httpx.AsyncClient, issuer: TestIssuer, catalog: Catalog
) -> None:
    raw = catalog.creatives
    ids = catalog.ids(raw)
    token = issuer.token(ORG, "marketer")
    for round_ in range(3):
        # Start mixed: some paused, some active.
        start_paused = raw[: 100 + 100 * round_]
        await catalog.owner.execute(
            "UPDATE creatives SET status = CASE WHEN id = ANY($2::uuid[]) THEN 'paused' ELSE 'active' END "
            "WHERE id = ANY($1::uuid[])",
            raw,
            start_paused,
        )
        # The resume names the ids in another order: the locks are taken in id order all the same.
        paused, resumed = await asyncio.gather(
            run(client, PAUSE_MANY, {"creativeIds": ids, "reason": f"race {round_}"}, token),
            run(client, RESUME_MANY, {"creativeIds": ids[::-1], "reason": f"race {round_}"}, token),
        )
        assert paused["userErrors"] == [] and resumed["userErrors"] == []
        final = set((await catalog.statuses(raw)).values())
        assert final in ({"paused"}, {"active"}), final
        active_before, paused_before = len(raw) - len(start_paused), len(start_paused)
        if final == {"paused"}:  # the resume ran first, then the pause over all of it
            assert (resumed["changed"], paused["changed"]) == (paused_before, len(raw))
        else:
            assert (paused["changed"], resumed["changed"]) == (active_before, len(raw))


async def test_bulk_input_is_validated_and_changes_nothing(
    client: httpx.AsyncClient, issuer: TestIssuer, catalog: Catalog
) -> None:
    token = issuer.token(ORG, "marketer")
    ids = catalog.ids(catalog.creatives[:3])
    campaign = to_global_id("Campaign", catalog.campaign)
    cases = [
        ({"creativeIds": [], "reason": "x"}, ["NO_IDS"], ["creativeIds"]),
        ({"creativeIds": ids * 167, "reason": "x"}, ["TOO_MANY_IDS"], ["creativeIds"]),
        (
            {"creativeIds": [ids[0], campaign, "bogus"], "reason": "x"},
            ["INVALID_ID"] * 2,
            ["creativeIds[1]", "creativeIds[2]"],
        ),
        ({"creativeIds": [ids[0], ids[1], ids[0]], "reason": "x"}, ["DUPLICATE_ID"], ["creativeIds[2]"]),
        ({"creativeIds": ids, "reason": "  "}, ["REASON_REQUIRED"], ["reason"]),
    ]
    for data, wanted, fields in cases:
        result = await run(client, PAUSE_MANY, data, token)
        assert codes(result) == wanted and [e["field"] for e in result["userErrors"]] == fields, result
        assert result["results"] == [] and result["changed"] == 0
    assert set((await catalog.statuses(catalog.creatives[:3])).values()) == {"active"}
    assert not await catalog.logs("pauseCreatives", catalog.creatives[:3])


async def test_bulk_pause_of_campaigns(client: httpx.AsyncClient, issuer: TestIssuer, catalog: Catalog) -> None:
    token = issuer.token(ORG, "owner")
    foreign = (
        await gql(client, "{ organization { campaigns(first: 1) { edges { node { id } } } } }", token=issuer.token())
    )["data"]["organization"]["campaigns"]["edges"][0]["node"]["id"]
    await catalog.owner.execute("UPDATE campaigns SET status = 'archived' WHERE id = $1", catalog.campaign)
    given = [*catalog.ids([catalog.bulk_campaign, catalog.campaign], "Campaign"), foreign]
    result = await run(client, PAUSE_CAMPAIGNS, {"campaignIds": given, "reason": "budget freeze"}, token)
    assert [r["outcome"] for r in result["results"]] == ["CHANGED", "ARCHIVED", "NOT_FOUND"]
    assert result["changed"] == 1 and result["results"][0]["actionLog"] == {"action": "PAUSE_CAMPAIGNS"}
    assert result["results"][1]["campaign"]["status"] == "ARCHIVED" and result["results"][2]["campaign"] is None
    statuses = await catalog.statuses([catalog.bulk_campaign, *catalog.creatives[:5]])
    assert statuses[catalog.bulk_campaign] == "paused"
    assert {statuses[c] for c in catalog.creatives[:5]} == {"active"}  # creatives keep their own status


async def test_each_change_of_a_bulk_action_is_announced_and_audited_once(
    gateway: ServerThread, client: httpx.AsyncClient, issuer: TestIssuer, catalog: Catalog, seeded: Stores
) -> None:
    changed = catalog.creatives[:3]
    given = [*catalog.ids(changed), to_global_id("Creative", uuid4())]
    async with socket(gateway.url, issuer.token(ORG, "viewer")) as sub:
        await sub.subscribe("b", ACTIONS, {"filter": {"action": ["PAUSE_CREATIVES"]}})
        await settle()
        result = await run(client, PAUSE_MANY, {"creativeIds": given, "reason": "announce"}, issuer.token(ORG, "admin"))
        assert result["changed"] == 3
        events = [(await next_event(sub, "b", within=30))["actionLogged"] for _ in changed]
        assert sorted(e["targetId"] for e in events) == sorted(str(i) for i in changed)
        assert await sub.silent(1.0) == []
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(seeded.mongo_url)
    try:
        audits = mongo[seeded.mongo_db].audit_logs
        wanted = {"action": "pauseCreatives", "target.id": {"$in": [str(i) for i in changed]}}
        for _ in range(150):
            if await audits.count_documents(wanted) >= 3:
                break
            await asyncio.sleep(0.2)
        assert await audits.count_documents(wanted) == 3
    finally:
        await mongo.close()


# --- single campaign and creative actions ------------------------------------------------------


async def test_pause_and_resume_campaign_leave_creatives_alone(
    client: httpx.AsyncClient, issuer: TestIssuer, catalog: Catalog
) -> None:
    token = issuer.token(ORG, "marketer")
    data = {"campaignId": to_global_id("Campaign", catalog.campaign), "reason": "weekend"}
    before = await catalog.statuses(catalog.small)
    paused = await run(client, CAMPAIGN_STATUS, data, token, "pauseCampaign")
    assert paused["userErrors"] == [] and paused["campaign"]["status"] == "PAUSED"
    assert paused["archivedCreatives"] == 0 and paused["actionLog"]["result"] == {
        "from": "active",
        "to": "paused",
        "archivedCreatives": 0,
    }
    assert await catalog.statuses(catalog.small) == before
    assert codes(await run(client, CAMPAIGN_STATUS, data, token, "pauseCampaign")) == ["ALREADY_PAUSED"]
    resumed = await run(client, CAMPAIGN_STATUS, data, token, "resumeCampaign")
    assert resumed["campaign"]["status"] == "ACTIVE" and await catalog.statuses(catalog.small) == before
    assert codes(await run(client, CAMPAIGN_STATUS, data, token, "resumeCampaign")) == ["ALREADY_ACTIVE"]
    assert resumed["campaign"]["version"] == paused["campaign"]["version"] + 1


async def test_archive_campaign_archives_its_creatives_in_one_change(
    client: httpx.AsyncClient, issuer: TestIssuer, catalog: Catalog
) -> None:
    token = issuer.token(ORG, "admin")
    campaign_id = to_global_id("Campaign", catalog.campaign)
    data = {"campaignId": campaign_id, "reason": "season over"}
    result = await run(client, CAMPAIGN_STATUS, data, token, "archiveCampaign")
    assert result["userErrors"] == [] and result["campaign"]["status"] == "ARCHIVED"
    assert result["archivedCreatives"] == 3  # the fourth was archived already
    assert result["actionLog"]["targetType"] == "CAMPAIGN"
    assert set((await catalog.statuses([catalog.campaign, *catalog.small])).values()) == {"archived"}
    logs = await catalog.logs("archiveCampaign", [catalog.campaign, *catalog.small])
    assert logs == Counter({str(i): 1 for i in [catalog.campaign, *catalog.small[:3]]})
    # Nothing archived moves again.
    for op, code in (
        ("archiveCampaign", "ALREADY_ARCHIVED"),
        ("pauseCampaign", "CAMPAIGN_ARCHIVED"),
        ("resumeCampaign", "CAMPAIGN_ARCHIVED"),
    ):
        assert codes(await run(client, CAMPAIGN_STATUS, data, token, op)) == [code], op
    creative = {"creativeId": to_global_id("Creative", catalog.small[0]), "reason": "x"}
    for op in ("pauseCreative", "resumeCreative"):
        assert codes(await run(client, CREATIVE_STATUS, creative, token, op)) == ["CREATIVE_ARCHIVED"]
    version = result["campaign"]["version"]
    edit = await run(client, UPDATE, {"campaignId": campaign_id, "expectedVersion": version, "name": "x"}, token)
    assert codes(edit) == ["CAMPAIGN_ARCHIVED"]
    budget = await run(client, BUDGET, {"campaignId": campaign_id, "dailyBudget": "5.00"}, token)
    assert codes(budget) == ["CAMPAIGN_ARCHIVED"]
    resumed = await run(client, RESUME_MANY, {"creativeIds": catalog.ids(catalog.small), "reason": "x"}, token)
    assert {r["outcome"] for r in resumed["results"]} == {"ARCHIVED"}


async def test_archive_creative(client: httpx.AsyncClient, issuer: TestIssuer, catalog: Catalog) -> None:
    token = issuer.token(ORG, "marketer")
    data = {"creativeId": to_global_id("Creative", catalog.small[2]), "reason": "fatigued"}
    archived = await run(client, CREATIVE_STATUS, data, token, "archiveCreative")
    assert archived["userErrors"] == [] and archived["creative"]["status"] == "ARCHIVED"
    assert archived["actionLog"] == {"action": "ARCHIVE_CREATIVE"}
    assert codes(await run(client, CREATIVE_STATUS, data, token, "archiveCreative")) == ["ALREADY_ARCHIVED"]
    for op in ("pauseCreative", "resumeCreative"):
        assert codes(await run(client, CREATIVE_STATUS, data, token, op)) == ["CREATIVE_ARCHIVED"]
    foreign = {"creativeId": (await foreign_creatives(client, issuer, 1))[0], "reason": "x"}
    assert codes(await run(client, CREATIVE_STATUS, foreign, token, "archiveCreative")) == ["NOT_FOUND"]


SINGLE_REJECTIONS = [
    ("foreign", "NOT_FOUND", "campaignId"),
    ("unknown", "NOT_FOUND", "campaignId"),
    ("creative", "INVALID_ID", "campaignId"),
    ("no reason", "REASON_REQUIRED", "reason"),
]


@pytest.mark.parametrize(("case", "code", "field"), SINGLE_REJECTIONS, ids=[c[0] for c in SINGLE_REJECTIONS])
@pytest.mark.parametrize("op", ["pauseCampaign", "resumeCampaign", "archiveCampaign"])
async def test_campaign_status_rejections(
    client: httpx.AsyncClient, issuer: TestIssuer, catalog: Catalog, op: str, case: str, code: str, field: str
) -> None:
    campaign_id = {
        "foreign": (
            await gql(
                client, "{ organization { campaigns(first: 1) { edges { node { id } } } } }", token=issuer.token()
            )
        )["data"]["organization"]["campaigns"]["edges"][0]["node"]["id"],
        "unknown": to_global_id("Campaign", uuid4()),
        "creative": to_global_id("Creative", catalog.small[0]),
        "no reason": to_global_id("Campaign", catalog.campaign),
    }[case]
    data = {"campaignId": campaign_id, "reason": "" if case == "no reason" else "x"}
    result = await run(client, CAMPAIGN_STATUS, data, issuer.token(ORG, "marketer"), op)
    assert codes(result) == [code] and result["userErrors"][0]["field"] == field
    assert result["campaign"] is None and result["actionLog"] is None
    assert (await catalog.statuses([catalog.campaign]))[catalog.campaign] == "active"


# --- edits at a version ------------------------------------------------------------------------


async def test_update_campaign_at_its_version(client: httpx.AsyncClient, issuer: TestIssuer, catalog: Catalog) -> None:
    token = issuer.token(ORG, "marketer")
    campaign_id = to_global_id("Campaign", catalog.campaign)
    version = await catalog.owner.fetchval("SELECT version FROM campaigns WHERE id = $1", catalog.campaign)
    edit = {"campaignId": campaign_id, "expectedVersion": version}
    done = await run(
        client, UPDATE, {**edit, "name": " Spring sale ", "endDate": "2026-03-31", "objective": None}, token
    )
    assert done["userErrors"] == [] and done["currentVersion"] is None
    assert done["campaign"] == {
        "id": campaign_id,
        "name": "Spring sale",
        "objective": None,
        "startDate": "2026-01-01",
        "endDate": "2026-03-31",
        "version": version + 1,
    }
    assert done["actionLog"]["action"] == "UPDATE_CAMPAIGN"
    assert done["actionLog"]["result"]["changed"] == ["end_date", "name", "objective"]
    # The edit a second client based on the old version is refused as a user error, with the version now.
    stale = await run(client, UPDATE, {**edit, "name": "Other"}, token)
    assert codes(stale) == ["VERSION_CONFLICT"] and stale["userErrors"][0]["field"] == "expectedVersion"
    assert stale["currentVersion"] == version + 1 and stale["campaign"] is None and stale["actionLog"] is None
    # Any change raises the version, a budget change too.
    budget = await run(client, BUDGET, {"campaignId": campaign_id, "dailyBudget": "75.00"}, token)
    assert budget["campaign"]["version"] == version + 2
    node = await gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Campaign { name version } } }",
        {"id": campaign_id},
        token=token,
    )
    assert node["data"]["node"] == {"name": "Spring sale", "version": version + 2}
    listed = await gql(
        client,
        '{ organization { campaigns(first: 100, filter: {nameContains: "Spring sale"}) { edges { node { id version } } } } }',
        token=token,
    )
    assert {"id": campaign_id, "version": version + 2} in [
        e["node"] for e in listed["data"]["organization"]["campaigns"]["edges"]
    ]
    # The same values again: nothing changes, nothing is logged.
    same = await run(client, UPDATE, {**edit, "expectedVersion": version + 2, "name": "Spring sale"}, token)
    assert same["userErrors"] == [] and same["campaign"]["version"] == version + 2 and same["actionLog"] is None


async def test_concurrent_edits_at_one_version_one_wins(
    client: httpx.AsyncClient, issuer: TestIssuer, catalog: Catalog
) -> None:
    token = issuer.token(ORG, "admin")
    campaign_id = to_global_id("Campaign", catalog.campaign)
    version = await catalog.owner.fetchval("SELECT version FROM campaigns WHERE id = $1", catalog.campaign)
    results = await asyncio.gather(
        *(
            run(client, UPDATE, {"campaignId": campaign_id, "expectedVersion": version, "name": f"Edit {n}"}, token)
            for n in range(4)
        )
    )
    assert sorted(tuple(codes(r)) for r in results) == [
        (),
        ("VERSION_CONFLICT",),
        ("VERSION_CONFLICT",),
        ("VERSION_CONFLICT",),
    ]
    assert await catalog.owner.fetchval("SELECT version FROM campaigns WHERE id = $1", catalog.campaign) == version + 1


EDIT_REJECTIONS = [
    ({"name": "   "}, "INVALID_NAME", "name"),
    ({"name": None}, "INVALID_NAME", "name"),
    ({"objective": "x" * 101}, "INVALID_OBJECTIVE", "objective"),
    ({"endDate": "2025-12-31"}, "INVALID_DATES", "endDate"),
    ({"startDate": "2026-02-01", "endDate": "2026-01-31"}, "INVALID_DATES", "endDate"),
    ({}, "NOTHING_TO_UPDATE", None),
    ({"campaignId": "unknown", "name": "x"}, "NOT_FOUND", "campaignId"),
    ({"campaignId": "creative", "name": "x"}, "INVALID_ID", "campaignId"),
    ({"name": "x", "reason": "r" * 501}, "REASON_TOO_LONG", "reason"),
]


@pytest.mark.parametrize(
    ("change", "code", "field"), EDIT_REJECTIONS, ids=[c[1] + str(n) for n, c in enumerate(EDIT_REJECTIONS)]
)
async def test_update_campaign_rejections(
    client: httpx.AsyncClient,
    issuer: TestIssuer,
    catalog: Catalog,
    change: dict[str, Any],
    code: str,
    field: str | None,
) -> None:
    version = await catalog.owner.fetchval("SELECT version FROM campaigns WHERE id = $1", catalog.campaign)
    target = {
        "unknown": to_global_id("Campaign", uuid4()),
        "creative": to_global_id("Creative", catalog.small[0]),
    }.get(change.get("campaignId", ""), to_global_id("Campaign", catalog.campaign))
    data = {**change, "campaignId": target, "expectedVersion": version}
    result = await run(client, UPDATE, data, issuer.token(ORG, "marketer"))
    assert codes(result) == [code] and result["userErrors"][0]["field"] == field, result
    assert result["campaign"] is None
    assert await catalog.owner.fetchval("SELECT version FROM campaigns WHERE id = $1", catalog.campaign) == version


# --- who may ---------------------------------------------------------------------------------------

MUTATIONS = {
    "pauseCampaign": (CAMPAIGN_STATUS, "campaign"),
    "resumeCampaign": (CAMPAIGN_STATUS, "campaign"),
    "archiveCampaign": (CAMPAIGN_STATUS, "campaign"),
    "archiveCreative": (CREATIVE_STATUS, "creative"),
    "updateCampaign": (UPDATE, "edit"),
    "pauseCreatives": (PAUSE_MANY, "creatives"),
    "resumeCreatives": (RESUME_MANY, "creatives"),
    "pauseCampaigns": (PAUSE_CAMPAIGNS, "campaigns"),
}


def _input(kind: str, catalog: Catalog) -> dict[str, Any]:
    campaign = to_global_id("Campaign", catalog.campaign)
    return {
        "campaign": {"campaignId": campaign, "reason": "x"},
        "creative": {"creativeId": to_global_id("Creative", catalog.small[0]), "reason": "x"},
        "edit": {"campaignId": campaign, "expectedVersion": 1, "name": "x"},
        "creatives": {"creativeIds": catalog.ids(catalog.small[:2]), "reason": "x"},
        "campaigns": {"campaignIds": [campaign], "reason": "x"},
    }[kind]


@pytest.mark.parametrize("op", list(MUTATIONS))
async def test_roles_and_scopes_that_may_not(
    client: httpx.AsyncClient, issuer: TestIssuer, catalog: Catalog, op: str
) -> None:
    query, kind = MUTATIONS[op]
    refused = [
        issuer.token(ORG, "viewer"),
        issuer.token(ORG, "analyst"),
        issuer.token(ORG, "owner", sub="partner-sync", azp="partner-sync", roles=None, scope="metrics:write"),
    ]
    before = await catalog.statuses([catalog.campaign, *catalog.small])
    for token in refused:
        body = await gql(client, query.replace("OP", op), {"input": _input(kind, catalog)}, token=token)
        assert body["data"] is None or next(iter(body["data"].values())) is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    assert await catalog.statuses([catalog.campaign, *catalog.small]) == before
    partner = issuer.token(ORG, "owner", sub="partner-act", azp="partner-act", roles=None, scope="actions:write")
    allowed = await run(client, query, _input(kind, catalog), partner, op)
    assert allowed["userErrors"] == [] or codes(allowed) == ["ALREADY_ACTIVE"], allowed
