"""Partner catalog sync by platform ids, lookups by platform ids, and the sync job queue, over real HTTP.

Each test makes its own organizations (both stores) and drops them afterwards, so the thousands
of rows synced here never show in another test's counts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient

from tests.conftest import Stores, gql
from tests.support.issuer import TestIssuer

SYNC = """mutation($input: SyncCatalogInput!) { syncCatalog(input: $input) {
  channels { index externalId id result } campaigns { index externalId id result }
  creatives { index externalId id result }
  actionLog { action actorKind targetType payload result }
  userErrors { code message field } } }"""


@dataclass
class Org:
    slug: str
    id: uuid.UUID
    key: str
    members: dict[str, str]  # role -> subject

    def partner(self, issuer: TestIssuer, scope: str = "catalog:write metrics:write") -> str:
        name = f"partner-{self.slug}"
        return issuer.token(self.slug, "owner", sub=name, azp=name, scope=scope)

    def person(self, issuer: TestIssuer, role: str) -> str:
        return issuer.token(self.slug, role, sub=self.members[role], email=f"{role}@{self.slug}.test")


ORG_PREFIX = "cat-"


@pytest.fixture(autouse=True)
async def _drop_new_orgs(stores: Stores) -> AsyncIterator[None]:
    """Drops the organizations a test made (their Brain rows go with them, by cascade)."""
    yield
    conn = await asyncpg.connect(stores.database_url)
    try:
        await conn.execute("DELETE FROM organizations WHERE slug LIKE $1", f"{ORG_PREFIX}%")
    finally:
        await conn.close()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stores.mongo_url, tz_aware=True)
    try:
        await client[stores.mongo_db]["organizations"].delete_many({"slug": {"$regex": f"^{ORG_PREFIX}"}})
    finally:
        await client.close()


async def new_org(stores: Stores) -> Org:
    """A fresh organization in both stores, with one Brain member per role."""
    slug = f"{ORG_PREFIX}{uuid.uuid4().hex[:10]}"
    org_id, key = uuid.uuid4(), ObjectId()
    members = {role: str(uuid.uuid4()) for role in ("viewer", "marketer", "admin", "owner")}
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stores.mongo_url, tz_aware=True)
    try:
        await client[stores.mongo_db]["organizations"].insert_one(
            {
                "_id": key,
                "name": slug,
                "slug": slug,
                "plan": "growth",
                "brain_org_id": str(org_id),
                "created_at": dt.datetime.now(dt.UTC),
            }
        )
    finally:
        await client.close()
    conn = await asyncpg.connect(stores.database_url)
    try:
        await conn.execute(
            "INSERT INTO organizations (id, name, slug, enterprise_org_id) VALUES ($1, $2, $2, $3)",
            org_id,
            slug,
            str(key),
        )
        await conn.executemany(
            "INSERT INTO users (organization_id, auth_id, email, role) VALUES ($1, $2, $3, $4)",
            [(org_id, uuid.UUID(sub), f"{role}@{slug}.test", role) for role, sub in members.items()],
        )
    finally:
        await conn.close()
    return Org(slug, org_id, str(key), members)


async def fetch(stores: Stores, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(stores.database_url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


def catalog(
    campaigns: int = 50, creatives: int = 1000, renamed: int = 0, extra: int = 0, account: str = "act_1"
) -> dict[str, Any]:
    """One meta channel, its campaigns, and creatives spread over them; `renamed` creatives get a new name."""
    return {
        "channels": [{"platform": "META", "externalAccountId": account, "name": "Meta main"}],
        "campaigns": [
            {
                "platform": "META",
                "externalId": f"cmp-{n}",
                "channelExternalAccountId": account,
                "name": f"Campaign {n}",
                "dailyBudget": "100.00",
                "currency": "EUR",
                "startDate": "2026-01-01",
            }
            for n in range(campaigns)
        ],
        "creatives": [
            {
                "platform": "META",
                "externalId": f"crv-{n}",
                "campaignExternalId": f"cmp-{n % campaigns}",
                "name": f"Creative {n}" + (" (renamed)" if n < renamed else ""),
                "format": "IMAGE",
                "headline": f"Headline {n}",
            }
            for n in range(creatives + extra)
        ],
    }


async def sync(client: httpx.AsyncClient, token: str, data: dict[str, Any]) -> dict[str, Any]:
    body = await gql(client, SYNC, {"input": data}, token=token)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["syncCatalog"]
    return payload


def results(payload: dict[str, Any], kind: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in payload[kind]:
        counts[row["result"]] = counts.get(row["result"], 0) + 1
    return counts


async def state(stores: Stores, org: Org) -> list[tuple[Any, ...]]:
    """Every catalog row of the organization with the columns a sync may write."""
    rows = await fetch(
        stores,
        "SELECT 'channel', id, name, status, external_account_id, NULL::timestamptz FROM channels "
        "WHERE organization_id = $1 UNION ALL "
        "SELECT 'campaign', id, name, status, external_id, updated_at FROM campaigns WHERE organization_id = $1 "
        "UNION ALL SELECT 'creative', id, name, coalesce(headline, ''), external_id, updated_at FROM creatives "
        "WHERE organization_id = $1 ORDER BY 1, 2",
        org.id,
    )
    return [tuple(r) for r in rows]


async def test_sync_creates_then_leaves_alone_then_changes_exactly_what_differs(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    org = await new_org(seeded)
    token = org.partner(issuer)
    first = await sync(client, token, catalog())
    assert first["userErrors"] == []
    assert results(first, "channels") == {"CREATED": 1}
    assert results(first, "campaigns") == {"CREATED": 50}
    assert results(first, "creatives") == {"CREATED": 1000}
    assert [r["index"] for r in first["creatives"]] == list(range(1000))
    assert first["actionLog"]["action"] == "SYNC_CATALOG" and first["actionLog"]["actorKind"] == "PARTNER"
    assert first["actionLog"]["result"]["creatives"] == {"created": 1000}
    before = await state(seeded, org)
    assert len(before) == 1 + 50 + 1000

    again = await sync(client, token, catalog())
    assert results(again, "channels") == {"UNCHANGED": 1}
    assert results(again, "campaigns") == {"UNCHANGED": 50}
    assert results(again, "creatives") == {"UNCHANGED": 1000}
    assert [r["id"] for r in again["creatives"]] == [r["id"] for r in first["creatives"]]
    assert await state(seeded, org) == before  # nothing written, not even updated_at

    changed = await sync(client, token, catalog(renamed=10, extra=5))
    assert results(changed, "creatives") == {"UPDATED": 10, "CREATED": 5, "UNCHANGED": 990}
    assert {r["externalId"] for r in changed["creatives"] if r["result"] == "UPDATED"} == {
        f"crv-{n}" for n in range(10)
    }
    assert {r["externalId"] for r in changed["creatives"] if r["result"] == "CREATED"} == {
        f"crv-{n}" for n in range(1000, 1005)
    }
    assert [r["id"] for r in changed["creatives"][:1000]] == [r["id"] for r in first["creatives"]]
    after = {row[1]: row for row in await state(seeded, org)}
    differing = [row for row in before if after[row[1]] != row]
    assert len(differing) == 10 and all(row[0] == "creative" for row in differing)
    logs = await fetch(
        seeded, "SELECT count(*) AS n FROM action_logs WHERE organization_id = $1 AND action = 'syncCatalog'", org.id
    )
    events = await fetch(
        seeded,
        "SELECT count(*) AS n FROM outbox WHERE organization_key = $1 AND document->>'action' = 'syncCatalog'",
        org.key,
    )
    assert logs[0]["n"] == 3 and events[0]["n"] == 3


async def test_one_bad_row_changes_nothing_and_is_named(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    org = await new_org(seeded)
    token = org.partner(issuer)
    await sync(client, token, catalog(campaigns=5, creatives=40))
    before = await state(seeded, org)
    bad = catalog(campaigns=5, creatives=40, renamed=40, extra=10)
    bad["creatives"][17]["headline"] = "x" * 501
    bad["creatives"][23]["campaignExternalId"] = "cmp-nowhere"
    bad["campaigns"][2]["currency"] = "euro"
    payload = await sync(client, token, bad)
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_CURRENCY", "campaigns[2].currency"),
        ("INVALID_TEXT", "creatives[17].headline"),
        ("NOT_FOUND", "creatives[23].campaignExternalId"),
    ]
    assert payload["creatives"] == [] and payload["actionLog"] is None
    assert await state(seeded, org) == before

    duplicate = catalog(campaigns=5, creatives=3)
    duplicate["creatives"][2]["externalId"] = "crv-0"
    dup = await sync(client, token, duplicate)
    assert [(e["code"], e["field"]) for e in dup["userErrors"]] == [("DUPLICATE_ROW", "creatives[2].externalId")]
    moved = catalog(campaigns=5, creatives=40)
    moved["creatives"][3]["campaignExternalId"] = "cmp-4"
    assert [e["code"] for e in (await sync(client, token, moved))["userErrors"]] == ["PARENT_MISMATCH"]
    assert await state(seeded, org) == before


async def test_another_organization_syncing_the_same_ids_gets_its_own_rows(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    first, second = await new_org(seeded), await new_org(seeded)
    keyed = {**catalog(campaigns=3, creatives=30), "idempotencyKey": "catalog-1"}
    mine = await sync(client, first.partner(issuer), keyed)
    before = await state(seeded, first)
    assert await sync(client, first.partner(issuer), keyed) == mine  # a replay: the first answer, nothing written
    assert await state(seeded, first) == before
    theirs = await sync(client, second.partner(issuer), catalog(campaigns=3, creatives=30))
    assert results(theirs, "creatives") == {"CREATED": 30} and results(theirs, "channels") == {"CREATED": 1}
    assert not {r["id"] for r in theirs["creatives"]} & {r["id"] for r in mine["creatives"]}
    assert await state(seeded, first) == before
    rows = await fetch(
        seeded,
        "SELECT count(*) AS n FROM creatives WHERE organization_id = $1 AND external_id LIKE 'crv-%'",
        second.id,
    )
    assert rows[0]["n"] == 30


async def test_concurrent_syncs_of_one_catalog_take_turns(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    org = await new_org(seeded)
    token = org.partner(issuer)
    both = await asyncio.gather(*(sync(client, token, catalog(campaigns=4, creatives=60)) for _ in range(2)))
    assert sorted(tuple(results(p, "creatives").items()) for p in both) == [(("CREATED", 60),), (("UNCHANGED", 60),)]
    assert [r["id"] for r in both[0]["creatives"]] == [r["id"] for r in both[1]["creatives"]]
    assert len(await state(seeded, org)) == 1 + 4 + 60


async def test_wrong_scope_or_role_is_refused(client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores) -> None:
    org = await new_org(seeded)
    for token in (
        org.partner(issuer, scope="metrics:write"),
        org.partner(issuer, scope="actions:write"),
        org.person(issuer, "marketer"),
        org.person(issuer, "viewer"),
    ):
        body = await gql(client, SYNC, {"input": catalog(campaigns=1, creatives=1)}, token=token)
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    admin = await sync(client, org.person(issuer, "admin"), catalog(campaigns=1, creatives=1))
    assert admin["userErrors"] == [] and admin["actionLog"]["actorKind"] == "USER"
    assert await state(seeded, org) != []
