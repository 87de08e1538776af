"""Audit events survive a MongoDB outage: brain actions still succeed, and every event
reaches `audit_logs` exactly once after MongoDB is back.

This test runs its own gateway on its own PostgreSQL database and MongoDB, so no
other gateway's outbox dispatcher can deliver its events first.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from pymongo import AsyncMongoClient

from gateway.http.app import create_app
from gateway.ops.migrations import migrate_mongo, migrate_postgres, provision_logins
from gateway.ops.seed import seed
from tests.conftest import Stores, gateway_settings, gql
from tests.support.issuer import TestIssuer
from tests.support.servers import ServerThread
from tests.test_stores import MongoOutage

BUDGET = """mutation($input: UpdateCampaignBudgetInput!) { updateCampaignBudget(input: $input) {
  campaign { dailyBudget { amount } } actionLog { id } userErrors { code } } }"""


@dataclass
class Isolated:
    database_url: str
    mongo_db: str
    outage: MongoOutage
    server: ServerThread


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@pytest.fixture
async def isolated(seeded: Stores, issuer: TestIssuer) -> AsyncIterator[Isolated]:
    name = f"omnify_outbox_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(seeded.database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    outage = MongoOutage(seeded)
    url = _with_database(seeded.database_url, name)
    conn = await asyncpg.connect(url)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(outage.url, tz_aware=True)
    try:
        await migrate_postgres(conn)
        # The cluster-wide logins, granted in this database too.
        await provision_logins(conn, seeded.app_url, seeded.system_url)
        await migrate_mongo(mongo[name])
        await seed(conn, mongo[name], orgs=1, progress=False)  # acme only
    finally:
        await conn.close()
        await mongo.close()
    server = ServerThread(
        create_app(
            gateway_settings(
                seeded,
                issuer,
                database_url=_with_database(seeded.app_url, name),
                database_system_url=_with_database(seeded.system_url, name),
                mongo_url=outage.url,
                mongo_db=name,
                store_timeout_s=1.0,
            )
        )
    ).start()
    try:
        yield Isolated(url, name, outage, server)
    finally:
        server.stop()
        outage.stop()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _pending(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM outbox WHERE delivered_at IS NULL"))
    finally:
        await conn.close()


async def _wait_delivered(url: str) -> None:
    for _ in range(300):
        if await _pending(url) == 0:
            return
        await asyncio.sleep(0.2)
    raise AssertionError("outbox not drained within 60 s")


async def _audit_counts(setup: Isolated, event_ids: list[str]) -> dict[str, int]:
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(setup.outage.url)
    try:
        docs = (
            await mongo[setup.mongo_db].audit_logs.find({"event_id": {"$in": event_ids}}, {"event_id": 1}).to_list(None)
        )
    finally:
        await mongo.close()
    counts = dict.fromkeys(event_ids, 0)
    for doc in docs:
        counts[doc["event_id"]] += 1
    return counts


async def test_actions_succeed_while_mongo_is_down_and_audits_arrive_once(
    isolated: Isolated, issuer: TestIssuer
) -> None:
    token = issuer.token("acme", "marketer")
    async with httpx.AsyncClient(base_url=isolated.server.url, timeout=60) as http:
        campaigns = await gql(
            http,
            "{ organization { campaigns(first: 5, filter: {status: [ACTIVE]}) { edges { node { id } } } } }",
            token=token,
        )
        ids = [e["node"]["id"] for e in campaigns["data"]["organization"]["campaigns"]["edges"]]
        isolated.outage.stop()
        for i, campaign in enumerate(ids):
            body = await gql(
                http, BUDGET, {"input": {"campaignId": campaign, "dailyBudget": f"{100 + i}.00"}}, token=token
            )
            assert body["data"]["updateCampaignBudget"]["userErrors"] == [], body
        # A MongoDB field in the same request reports the outage instead of failing the request.
        body = await gql(http, "{ organization { plan campaigns(first: 1) { totalCount } } }", token=token)
        assert (
            body["data"]["organization"]["plan"] is None
            and body["errors"][0]["extensions"]["code"] == "STORE_UNAVAILABLE"
        )
    assert await _pending(isolated.database_url) == len(ids)

    isolated.outage.start()
    await _wait_delivered(isolated.database_url)
    conn = await asyncpg.connect(isolated.database_url)
    try:
        event_ids = [str(r["event_id"]) for r in await conn.fetch("SELECT event_id FROM outbox")]
        assert len(event_ids) == len(ids)
        assert await conn.fetchval("SELECT max(attempts) FROM outbox") >= 1  # they were retried
        assert set((await _audit_counts(isolated, event_ids)).values()) == {1}
        # Delivery is at least once: a redelivery (say, a crash before marking) is deduplicated.
        await conn.execute("UPDATE outbox SET delivered_at = NULL, next_attempt_at = now()")
    finally:
        await conn.close()
    await _wait_delivered(isolated.database_url)
    assert set((await _audit_counts(isolated, event_ids)).values()) == {1}
