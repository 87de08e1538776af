"""Audit events survive a MongoDB outage: brain actions still succeed, and every event
reaches `audit_logs` exactly once after MongoDB is back.

This test runs its own gateway on its own PostgreSQL database and MongoDB, so no
other gateway's outbox dispatcher can deliver its events first.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from pymongo import AsyncMongoClient

from gateway.core import outbox, snapshot
from gateway.core.config import ConfigError, load_settings
from gateway.http.app import create_app
from gateway.ops.migrations import migrate_mongo, migrate_postgres, provision_logins
from gateway.ops.seed import seed
from gateway.stores.mongo import MongoStore
from gateway.stores.postgres import PostgresStore
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


BACKLOG = 5000


async def _enqueue(url: str, events: list[dict[str, Any]], *, not_before_s: float = 0.0) -> None:
    """Audit events as mutations leave them in the outbox, all visible at once (one transaction)."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.executemany(
                "INSERT INTO outbox (event_id, organization_key, document, next_attempt_at) "
                "VALUES ($1, $2, $3::jsonb, now() + make_interval(secs => $4))",
                [
                    (uuid.UUID(e["event_id"]), e["organization_id"], json.dumps(snapshot.encode(e)), not_before_s)
                    for e in events
                ],
            )
    finally:
        await conn.close()


async def _events(url: str, count: int, **details: Any) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(url)
    try:
        key = await conn.fetchval("SELECT enterprise_org_id FROM organizations WHERE slug = 'acme'")
    finally:
        await conn.close()
    return [
        outbox.audit_event(
            organization_key=key,
            actor={"type": "user", "id": "backlog"},
            action="campaign.budget_updated",
            target_type="Campaign",
            target_id=str(uuid.uuid4()),
            details={"n": i, **details},
            request_id=None,
        )
        for i in range(count)
    ]


async def _metric(http: httpx.AsyncClient, name: str) -> float:
    for line in (await http.get("/metrics")).text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    return 0.0


async def _until(what: str, check: Callable[[], Awaitable[bool]], seconds: float = 300.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {seconds:.0f} s: {what}")
        await asyncio.sleep(0.25)


async def _attempted(url: str) -> bool:
    conn = await asyncpg.connect(url)
    try:
        return bool(await conn.fetchval("SELECT coalesce(max(attempts), 0) >= 1 FROM outbox"))
    finally:
        await conn.close()


async def test_a_backlog_queued_while_mongo_is_down_arrives_once_each_in_batches(isolated: Isolated) -> None:
    events = await _events(isolated.database_url, BACKLOG)
    event_ids = [e["event_id"] for e in events]
    isolated.outage.stop()
    await _enqueue(isolated.database_url, events)
    async with httpx.AsyncClient(base_url=isolated.server.url, timeout=60) as http:
        await _until("a delivery attempted", lambda: _attempted(isolated.database_url))

        async def lag_reported() -> bool:
            ready = await http.get("/readyz")
            return ready.status_code == 503 and ready.json()["outbox"].get("pending") == BACKLOG

        await _until("the backlog in /readyz while MongoDB is down", lag_reported)
        assert await _metric(http, "omnify_outbox_pending") == BACKLOG
        assert await _metric(http, "omnify_outbox_lag_seconds") > 0
        assert await _metric(http, "omnify_audit_events_delivered_total") == 0

        isolated.outage.start()
        await _until("the backlog delivered", lambda: _drained(isolated.database_url))
        counts = await _audit_counts(isolated, event_ids)
        assert len(counts) == BACKLOG and set(counts.values()) == {1}
        assert await _metric(http, "omnify_audit_events_delivered_total") == BACKLOG
        batches = await _metric(http, "omnify_outbox_batches_total")
        assert 0 < batches <= BACKLOG // 10, batches  # hundreds of events per insert, not one

        async def caught_up() -> bool:
            ready = await http.get("/readyz")
            return ready.status_code == 200 and ready.json()["outbox"]["pending"] == 0

        await _until("/readyz caught up", caught_up)
        assert await _metric(http, "omnify_outbox_lag_seconds") == 0


async def _drained(url: str) -> bool:
    return await _pending(url) == 0


async def test_a_redelivered_batch_leaves_each_event_once(isolated: Isolated) -> None:
    """A dispatcher that inserted part of a batch, then died before marking it: the batch goes again."""
    events = await _events(isolated.database_url, 300)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(isolated.outage.url, tz_aware=True)
    try:
        already = [dict(e) for e in events[::3]]
        await mongo[isolated.mongo_db].audit_logs.insert_many(already)
    finally:
        await mongo.close()
    await _enqueue(isolated.database_url, events)
    await _wait_delivered(isolated.database_url)
    counts = await _audit_counts(isolated, [e["event_id"] for e in events])
    assert len(counts) == len(events) and set(counts.values()) == {1}
    async with httpx.AsyncClient(base_url=isolated.server.url, timeout=60) as http:
        # Redelivered events count as delivered: MongoDB held them, so they are marked.
        assert await _metric(http, "omnify_audit_events_delivered_total") == len(events)


async def test_an_event_mongo_cannot_take_waits_alone(isolated: Isolated) -> None:
    """One event the driver cannot send (an integer beyond 64 bits) is postponed; its batch is delivered."""
    good = await _events(isolated.database_url, 50)
    poison = (await _events(isolated.database_url, 1, huge=2**70))[0]
    await _enqueue(isolated.database_url, [*good[:25], poison, *good[25:]])

    async def only_poison_left() -> bool:
        conn = await asyncpg.connect(isolated.database_url)
        try:
            rows = await conn.fetch("SELECT event_id, attempts, last_error FROM outbox WHERE delivered_at IS NULL")
        finally:
            await conn.close()
        return [(str(r["event_id"]), r["attempts"] >= 1, bool(r["last_error"])) for r in rows] == [
            (poison["event_id"], True, True)
        ]

    await _until("the good events delivered, the bad one postponed", only_poison_left, 120)
    counts = await _audit_counts(isolated, [e["event_id"] for e in [*good, poison]])
    assert counts == {**{e["event_id"]: 1 for e in good}, poison["event_id"]: 0}


@pytest.mark.parametrize(
    "document", ["{}", '{"event_id": 7}', '{"event_id": "x", "at": {"$datetime": "bad"}}', "[]"], ids=str
)
async def test_an_unreadable_event_waits_alone_and_holds_back_no_one(isolated: Isolated, document: str) -> None:
    """A row SQL as the request login could write for its own organization, with any content: the
    events around it (of other organizations too) are delivered, it is postponed and logged."""
    good = await _events(isolated.database_url, 20)
    conn = await asyncpg.connect(isolated.database_url)
    try:
        # Another organization's row than the good events' (acme's), where there is one.
        globex = await conn.fetchval("SELECT enterprise_org_id FROM organizations ORDER BY slug = 'acme', slug LIMIT 1")
        bad = uuid.uuid4()
        await conn.execute(
            "INSERT INTO outbox (event_id, organization_key, document) VALUES ($1, $2, $3::jsonb)",
            bad,
            globex,
            document,
        )
    finally:
        await conn.close()
    await _enqueue(isolated.database_url, good)

    async def only_bad_left() -> bool:
        conn = await asyncpg.connect(isolated.database_url)
        try:
            rows = await conn.fetch("SELECT event_id, attempts, last_error FROM outbox WHERE delivered_at IS NULL")
        finally:
            await conn.close()
        return [(r["event_id"], r["attempts"] >= 1, "unreadable" in (r["last_error"] or "")) for r in rows] == [
            (bad, True, True)
        ]

    await _until("the good events delivered, the unreadable one postponed", only_bad_left, 120)
    assert await _audit_counts(isolated, [e["event_id"] for e in good]) == {e["event_id"]: 1 for e in good}


async def test_lag_alone_never_makes_the_gateway_unready(isolated: Isolated) -> None:
    # Events not due for an hour: pending, yet both stores are up.
    await _enqueue(isolated.database_url, await _events(isolated.database_url, 10), not_before_s=3600)
    async with httpx.AsyncClient(base_url=isolated.server.url, timeout=60) as http:

        async def reported() -> bool:
            ready = await http.get("/readyz")
            outbox_lag = ready.json()["outbox"]
            return outbox_lag.get("pending") == 10 and ready.status_code == 200

        await _until("the pending events in /readyz", reported, 120)
        assert await _metric(http, "omnify_outbox_pending") == 10


async def test_dispatchers_side_by_side_claim_disjoint_batches(isolated: Isolated, seeded: Stores) -> None:
    """Two more workers' dispatchers next to the gateway's: every event delivered by exactly one of them."""
    events = await _events(isolated.database_url, 3000)
    isolated.outage.stop()
    await _enqueue(isolated.database_url, events)
    workers = []
    for _ in range(2):
        postgres = PostgresStore(
            _with_database(seeded.app_url, isolated.mongo_db),
            max_size=2,
            system_url=_with_database(seeded.system_url, isolated.mongo_db),
        )
        mongo = MongoStore(isolated.outage.url, isolated.mongo_db, timeout_s=1.0)
        await postgres.open()
        await mongo.open()
        workers.append(outbox.OutboxDispatcher(postgres, mongo, batch_size=100, poll_interval_s=0.2))
    try:
        for worker in workers:
            worker.start()
        isolated.outage.start()
        await _until("the backlog delivered", lambda: _drained(isolated.database_url))
    finally:
        for worker in workers:
            await worker.stop()
            await worker.mongo.close()
            await worker.postgres.close()
    counts = await _audit_counts(isolated, [e["event_id"] for e in events])
    assert len(counts) == len(events) and set(counts.values()) == {1}
    async with httpx.AsyncClient(base_url=isolated.server.url, timeout=60) as http:
        by_gateway = await _metric(http, "omnify_audit_events_delivered_total")
    # A batch claimed twice would be delivered (and counted) twice: MongoDB's answer counts as delivered.
    assert by_gateway + sum(worker.delivered for worker in workers) == len(events)


def test_the_batch_size_setting_is_checked() -> None:
    env = {
        "MONGO_URL": "mongodb://localhost:27017",
        "DATABASE_URL": "postgresql://gateway@localhost/brain",
        "DATABASE_SYSTEM_URL": "postgresql://gateway_system@localhost/brain",
        "OIDC_ISSUER": "https://issuer.example.com",
        "OIDC_AUDIENCE": "omnify",
    }
    assert load_settings(env).outbox_batch == 500
    assert load_settings({**env, "OMNIFY_OUTBOX_BATCH": "1000"}).outbox_batch == 1000
    for bad, problem in [
        ("0", "OMNIFY_OUTBOX_BATCH=0 must be at least 1"),
        ("1001", "OMNIFY_OUTBOX_BATCH=1001 must be at most 1000"),
        ("many", "OMNIFY_OUTBOX_BATCH='many' is not an integer"),
    ]:
        with pytest.raises(ConfigError) as caught:
            load_settings({**env, "OMNIFY_OUTBOX_BATCH": bad})
        assert problem in str(caught.value)
