"""Migrations and seed are idempotent; readiness follows the stores."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest
from pymongo import AsyncMongoClient

from gateway.http.app import create_app
from gateway.ops.embedded import EmbeddedMongo
from gateway.ops.migrations import MONGO_INDEXES, load_migrations, migrate_mongo, migrate_postgres
from gateway.ops.seed import seed
from gateway.stores.postgres import PostgresStore
from tests.conftest import Stores, gateway_settings, gql
from tests.support.issuer import TestIssuer
from tests.support.proxy import TcpProxy
from tests.support.servers import ServerThread

BRAIN_TABLES = [
    "organizations",
    "users",
    "channels",
    "campaigns",
    "creatives",
    "daily_metrics",
    "cohorts",
    "brain_states",
    "api_credentials",
    "sync_jobs",
    "action_logs",
]


async def _pg_counts(conn: asyncpg.Connection) -> dict[str, int]:
    return {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in BRAIN_TABLES}


async def _mongo_counts(db: Any) -> dict[str, int]:
    # audit_logs is left out: the gateway's outbox dispatcher may still be delivering
    # events of earlier mutation tests while this one counts.
    return {c: int(await db[c].count_documents({})) for c in MONGO_INDEXES if c != "audit_logs"}


async def test_migrations_run_twice(seeded: Stores) -> None:
    conn = await asyncpg.connect(seeded.database_url)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(seeded.mongo_url)
    try:
        assert await migrate_postgres(conn) == []  # already applied by the fixture
        assert await migrate_postgres(conn) == []
        versions = [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")]
        assert versions == [m.version for m in load_migrations()]
        assert await migrate_mongo(client[seeded.mongo_db]) == []
        names = set(await client[seeded.mongo_db].list_collection_names())
        assert set(MONGO_INDEXES) <= names
        # Row-level security is on for every tenant table.
        rls = {
            r["relname"]: r["relrowsecurity"]
            for r in await conn.fetch(
                "SELECT relname, relrowsecurity FROM pg_class WHERE relname = ANY($1::text[])", BRAIN_TABLES
            )
        }
        assert all(rls[t] for t in BRAIN_TABLES)
    finally:
        await conn.close()
        await client.close()


async def test_seed_twice_keeps_counts(seeded: Stores) -> None:
    conn = await asyncpg.connect(seeded.database_url)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(seeded.mongo_url, tz_aware=True)
    db = client[seeded.mongo_db]
    try:
        before_pg, before_mongo = await _pg_counts(conn), await _mongo_counts(db)
        assert before_pg["organizations"] == 3
        assert before_pg["campaigns"] == 3 * 60
        assert before_pg["creatives"] == 3 * 1200
        assert before_pg["daily_metrics"] >= 3 * 1200 * 90  # ingestion tests may have added older days
        assert before_mongo["organizations"] == 3
        report = await seed(conn, db, progress=False)
        assert report.organizations_created == 0 and report.mongo_documents_inserted == 0
        assert await _pg_counts(conn) == before_pg
        assert await _mongo_counts(db) == before_mongo
        # The two stores are linked both ways.
        pg_links = {
            r["slug"]: (str(r["id"]), r["enterprise_org_id"]) for r in await conn.fetch("SELECT * FROM organizations")
        }
        async for doc in db.organizations.find({}):
            assert pg_links[doc["slug"]] == (doc["brain_org_id"], str(doc["_id"]))
    finally:
        await conn.close()
        await client.close()


class MongoOutage:
    """Stops the MongoDB server the gateway talks to: a real embedded server, or a proxy to a URL-given one."""

    def __init__(self, stores: Stores) -> None:
        self.embedded: EmbeddedMongo | None = None
        self.proxy: TcpProxy | None = None
        if stores.embedded_mongo is not None:
            self.embedded = EmbeddedMongo(stores.data_dir / "outage")
            self.embedded.start()
            self.url = self.embedded.url
        else:
            host_port = stores.mongo_url.split("//", 1)[1].split("/", 1)[0]
            host, _, port = host_port.rpartition(":")
            self.proxy = TcpProxy(host, int(port or 27017))
            self.proxy.start()
            self.url = f"mongodb://127.0.0.1:{self.proxy.port}/?directConnection=true"

    def stop(self) -> None:
        if self.embedded:
            self.embedded.stop()
        if self.proxy:
            self.proxy.stop()

    def start(self) -> None:
        if self.embedded:
            self.embedded.start()  # same port, same data dir
        if self.proxy:
            self.proxy.start()

    def hang(self, hung: bool) -> None:
        """Keep connections open but answer nothing (SIGSTOP), or resume."""
        if self.embedded and self.embedded.process:
            os.kill(self.embedded.process.pid, signal.SIGSTOP if hung else signal.SIGCONT)
        if self.proxy:
            self.proxy.paused = hung


async def _wait_ready(http: httpx.AsyncClient, want: int) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        response = await http.get("/readyz")
        if response.status_code == want or asyncio.get_running_loop().time() > deadline:
            assert response.status_code == want, response.text
            body: dict[str, Any] = response.json()
            return body
        await asyncio.sleep(0.2)


async def test_readyz_follows_mongo_outage(seeded: Stores, issuer: TestIssuer) -> None:
    outage = MongoOutage(seeded)
    server = ServerThread(
        create_app(gateway_settings(seeded, issuer, mongo_url=outage.url, store_timeout_s=1.0))
    ).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            body = await _wait_ready(http, 200)
            assert body["stores"]["mongo"]["ok"] and body["stores"]["postgres"]["ok"]
            outage.stop()
            body = await _wait_ready(http, 503)
            assert body["status"] == "unavailable"
            assert body["stores"]["mongo"]["ok"] is False and body["stores"]["mongo"]["error"]
            assert body["stores"]["postgres"]["ok"] is True
            outage.start()
            body = await _wait_ready(http, 200)  # reconnects without a restart
            assert body["stores"]["mongo"]["ok"]
    finally:
        server.stop()
        outage.stop()


@pytest.mark.parametrize("broken", ["DATABASE_URL", "MONGO_URL"])
async def test_readyz_names_unreachable_store_at_start(seeded: Stores, issuer: TestIssuer, broken: str) -> None:
    from gateway.ops.embedded import free_port

    dead = free_port()
    overrides = (
        {"database_url": f"postgresql://postgres@127.0.0.1:{dead}/postgres"}
        if broken == "DATABASE_URL"
        else {"mongo_url": f"mongodb://127.0.0.1:{dead}/"}
    )
    server = ServerThread(create_app(gateway_settings(seeded, issuer, store_timeout_s=1.0, **overrides))).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            response = await http.get("/readyz")
            assert response.status_code == 503
            stores = response.json()["stores"]
            down = "postgres" if broken == "DATABASE_URL" else "mongo"
            up = "mongo" if down == "postgres" else "postgres"
            assert stores[down]["ok"] is False and stores[up]["ok"] is True
    finally:
        server.stop()


async def test_mongo_outage_degrades_to_postgres_fields(seeded: Stores, issuer: TestIssuer) -> None:
    outage = MongoOutage(seeded)
    server = ServerThread(
        create_app(gateway_settings(seeded, issuer, mongo_url=outage.url, store_timeout_s=1.0))
    ).start()
    query = "{ organization { name plan campaigns(first: 1) { totalCount } workflows { totalCount } } }"
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            outage.stop()
            response = await http.post(
                "/graphql",
                json={"query": query},
                headers={"Authorization": f"Bearer {issuer.token('acme', 'analyst')}"},
            )
            assert response.status_code == 200, response.text
            body = response.json()
            org = body["data"]["organization"]
            assert org["name"] == "Acme Corporation" and org["campaigns"]["totalCount"] == 60
            assert org["plan"] is None and org["workflows"] is None
            failed = {e["path"][-1]: e["extensions"] for e in body["errors"]}
            assert set(failed) == {"plan", "workflows"}
            assert all(ext["code"] == "STORE_UNAVAILABLE" and ext["store"] == "mongo" for ext in failed.values())
            outage.start()
            # Reconnected without a restart, once the circuit's probe sees the server again.
            # (The embedded outage server holds no data, hence only the count.)
            body = await _until_answered(
                http, "{ organization { workflows { totalCount } } }", issuer.token("acme", "analyst")
            )
            assert "errors" not in body and body["data"]["organization"]["workflows"]["totalCount"] >= 0
    finally:
        server.stop()
        outage.stop()


async def _until_answered(http: httpx.AsyncClient, query: str, token: str) -> dict[str, Any]:
    """Poll until no field fails with STORE_UNAVAILABLE (the store came back), for at most 30 s."""
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        body = await gql(http, query, token=token)
        unavailable = [e for e in body.get("errors", []) if e["extensions"]["code"] == "STORE_UNAVAILABLE"]
        if not unavailable or asyncio.get_running_loop().time() > deadline:
            assert not unavailable, unavailable
            return body
        await asyncio.sleep(0.2)


MIXED = "{ organization { name plan campaigns(first: 1) { totalCount } workflows { totalCount } } }"


async def _timed_gql(http: httpx.AsyncClient, token: str) -> tuple[float, dict[str, Any]]:
    started = asyncio.get_running_loop().time()
    body = await gql(http, MIXED, token=token)
    return asyncio.get_running_loop().time() - started, body


def _failed_fields(body: dict[str, Any]) -> dict[str, str]:
    return {e["path"][-1]: f"{e['extensions']['code']}:{e['extensions'].get('store')}" for e in body.get("errors", [])}


async def _metric(http: httpx.AsyncClient, line_start: str) -> str:
    text = (await http.get("/metrics")).text
    return next(line for line in text.splitlines() if line.startswith(line_start))


async def test_hung_mongo_fails_fast_then_its_circuit_fails_at_once(seeded: Stores, issuer: TestIssuer) -> None:
    timeout = 1.0
    outage = MongoOutage(seeded)
    server = ServerThread(
        create_app(gateway_settings(seeded, issuer, mongo_url=outage.url, store_timeout_s=timeout))
    ).start()
    token = issuer.token("acme", "analyst")
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            # Authentication meets the hang too, and falls back to PostgreSQL's copy of the organization.
            outage.hang(True)
            try:
                first, body = await _timed_gql(http, token)
                # The first request meets the hang and waits about one store timeout.
                assert first < timeout + 1.0, first
                assert body["data"]["organization"]["campaigns"]["totalCount"] == 60
                assert _failed_fields(body) == {
                    "plan": "STORE_UNAVAILABLE:mongo",
                    "workflows": "STORE_UNAVAILABLE:mongo",
                }
                # The circuit is open now: the next request does not wait for MongoDB at all.
                gc.collect()  # not the gateway's latency: see the PostgreSQL test below
                second, body = await _timed_gql(http, token)
                assert second < timeout / 2, second  # far from the store timeout, however busy the machine
                assert body["data"]["organization"]["campaigns"]["totalCount"] == 60
                assert set(_failed_fields(body)) == {"plan", "workflows"}
                ready = await http.get("/readyz")
                assert ready.status_code == 503
                assert ready.json()["stores"]["mongo"]["circuit"] == "open"
                assert ready.json()["stores"]["postgres"] == {**ready.json()["stores"]["postgres"], "ok": True}
                assert await _metric(http, 'omnify_store_circuit_open{store="mongo"}') == (
                    'omnify_store_circuit_open{store="mongo"} 1.0'
                )
            finally:
                outage.hang(False)
            # Back without a restart: the probe closes the circuit. (An embedded outage server holds no data.)
            body = await _until_answered(http, MIXED, token)
            assert body["data"]["organization"]["workflows"]["totalCount"] >= 0
            ready = await _wait_ready(http, 200)
            assert ready["stores"]["mongo"]["circuit"] == "closed"
            assert await _metric(http, 'omnify_store_circuit_open{store="mongo"}') == (
                'omnify_store_circuit_open{store="mongo"} 0.0'
            )
    finally:
        server.stop()
        outage.stop()


async def test_hung_postgres_fails_fast_then_its_circuit_fails_at_once(seeded: Stores, issuer: TestIssuer) -> None:
    """PostgreSQL stalls behind a TCP proxy: connections stay open, nothing is answered."""
    timeout = 1.0
    authority = seeded.app_url.split("@", 1)[1].split("/", 1)[0]
    host, _, port = authority.rpartition(":")
    proxy = TcpProxy(host, int(port or 5432))
    proxy.start()
    url = seeded.app_url.replace(f"@{authority}/", f"@127.0.0.1:{proxy.port}/", 1)
    server = ServerThread(
        create_app(gateway_settings(seeded, issuer, database_url=url, store_timeout_s=timeout))
    ).start()
    token = issuer.token("acme", "analyst")
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            await _until_answered(http, MIXED, token)
            proxy.paused = True
            try:
                first, body = await _timed_gql(http, token)
                assert first < timeout + 1.0, first
                org = body["data"]["organization"]
                assert org["name"] == "Acme Corporation" and org["plan"] is not None and org["workflows"] is not None
                assert _failed_fields(body) == {"campaigns": "STORE_UNAVAILABLE:postgres"}
                # The gateway runs inside the test process here: a full collection of that whole heap
                # (every fixture and earlier test) is not the gateway's latency; `serve` freezes its own.
                # Collect now, outside the timed request.
                gc.collect()
                second, body = await _timed_gql(http, token)
                assert second < timeout / 2, second  # far from the store timeout, however busy the machine
                assert _failed_fields(body) == {"campaigns": "STORE_UNAVAILABLE:postgres"}
                ready = await http.get("/readyz")
                assert ready.status_code == 503 and ready.json()["stores"]["postgres"]["circuit"] == "open"
                assert ready.json()["stores"]["mongo"]["ok"] is True
                assert await _metric(http, 'omnify_store_circuit_open{store="postgres"}') == (
                    'omnify_store_circuit_open{store="postgres"} 1.0'
                )
            finally:
                proxy.paused = False
            assert "errors" not in await _until_answered(http, MIXED, token)
            assert (await _wait_ready(http, 200))["stores"]["postgres"]["circuit"] == "closed"
    finally:
        server.stop()
        proxy.stop()


async def test_release_of_a_connection_the_server_closed_does_not_raise(seeded: Stores) -> None:
    """Cleanup runs after the response: an error there would make the HTTP server drop the keep-alive connection."""
    store = PostgresStore(seeded.app_url, max_size=2, timeout_s=2.0, system_url=seeded.system_url)
    await store.open()
    admin = await asyncpg.connect(seeded.database_url)
    try:
        conn = await store.acquire()
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        await admin.execute("SELECT pg_terminate_backend($1)", pid)

        def closed() -> bool:
            try:
                return conn.is_closed()
            except asyncpg.InterfaceError:  # asyncpg's own cleanup already detached it from the pool
                return True

        deadline = asyncio.get_running_loop().time() + 30
        while not closed():  # asyncpg notices the closed socket on its own
            assert asyncio.get_running_loop().time() < deadline, "the terminated connection was never noticed"
            await asyncio.sleep(0.05)
        store.circuit.open("test: the store stopped answering")
        await store.release(conn)
    finally:
        await admin.close()
        await store.close()


async def test_full_pool_queue_sheds_with_503_and_retry_after(seeded: Stores, issuer: TestIssuer) -> None:
    server = ServerThread(create_app(gateway_settings(seeded, issuer, pg_pool_max=1, pg_pool_queue=1))).start()
    token = issuer.token("acme", "analyst")
    query = "{ organization { campaigns(first: 50) { totalCount edges { node { name } } } } }"
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            await gql(http, query, token=token)
            responses = await asyncio.gather(
                *(
                    http.post("/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"})
                    for _ in range(20)
                )
            )
            shed = [r for r in responses if r.status_code == 503]
            served = [r for r in responses if r.status_code == 200]
            assert len(shed) + len(served) == len(responses), [r.status_code for r in responses]
            assert shed and served
            assert all("errors" not in r.json() for r in served)
            for response in shed:
                assert response.headers["retry-after"] == "1"
                error = response.json()["errors"][0]
                assert error["extensions"]["code"] == "STORE_UNAVAILABLE" and error["extensions"]["retryAfter"] == 1
            assert (await http.get("/readyz")).json()["stores"]["postgres"]["circuit"] == "closed"
    finally:
        server.stop()


async def _until(condition: Callable[[], bool], seconds: float) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition() and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110 - another thread logs
        await asyncio.sleep(0.1)


async def test_outbox_logs_an_outage_once_and_its_end(
    seeded: Stores, issuer: TestIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    authority = seeded.app_url.split("@", 1)[1].split("/", 1)[0]
    host, _, port = authority.rpartition(":")
    proxy = TcpProxy(host, int(port or 5432))  # not started: PostgreSQL refuses connections
    url = seeded.app_url.replace(f"@{authority}/", f"@127.0.0.1:{proxy.port}/", 1)
    system_url = seeded.system_url.replace(f"@{authority}/", f"@127.0.0.1:{proxy.port}/", 1)  # the dispatcher's
    caplog.set_level(logging.WARNING, logger="omnify.outbox")

    def logged(text: str) -> int:
        return sum(text in r.getMessage() for r in caplog.records if r.name == "omnify.outbox")

    settings = gateway_settings(seeded, issuer, database_url=url, database_system_url=system_url, store_timeout_s=0.5)
    server = ServerThread(create_app(settings)).start()
    try:
        await _until(lambda: logged("outbox dispatch failed") > 0, 30)
        await asyncio.sleep(3)  # three poll intervals: once a second before
        assert logged("outbox dispatch failed") == 1
        proxy.start()
        await _until(lambda: logged("outbox dispatch recovered") > 0, 60)
        assert logged("outbox dispatch recovered") == 1 and logged("outbox dispatch failed") == 1
    finally:
        server.stop()
        proxy.stop()


async def test_slow_statement_on_a_live_store_runs_on(seeded: Stores) -> None:
    """Longer than the store timeout, but PostgreSQL answers the circuit's pings meanwhile: no outage."""
    from gateway.ops.seed import uid
    from gateway.stores.postgres import PostgresStore

    store = PostgresStore(seeded.app_url, timeout_s=0.5, system_url=seeded.system_url)
    await store.open()
    try:
        async with store.tenant_transaction(uid("org", "acme")) as tx:
            assert await tx.fetchval("SELECT 1 FROM pg_sleep(2)") == 1
        assert not store.circuit.is_open and store.circuit.opened_count == 0
    finally:
        await store.close()
