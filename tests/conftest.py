"""Shared fixtures: real stores (embedded, or given by URL), a real issuer, a real gateway over HTTP.

By default the suite starts embedded PostgreSQL (pgserver) and the MongoDB
wire server (nx-27017) in a temporary directory. To run the same suite
against real servers, set both:

    OMNIFY_TEST_DATABASE_URL=postgresql://user@host:5432/dbname
    OMNIFY_TEST_MONGO_URL=mongodb://host:27017

The suite owns those databases: it drops the PostgreSQL `public` schema and
the MongoDB database `OMNIFY_TEST_MONGO_DB` (default `omnify_test`) first.
The PostgreSQL URL must be a superuser (it migrates, seeds and checks data
across tenants); the gateways under test connect as the restricted logins
`omnify_gateway_test` (requests) and `omnify_gateway_system_test` (system
work), which the suite creates next to it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from pymongo import AsyncMongoClient

from gateway.core.config import RATE_LIMIT_ROLES, Bucket, IssuerConfig, RateLimits, Settings
from gateway.http.app import create_app
from gateway.ops.embedded import EmbeddedMongo, EmbeddedPostgres
from gateway.ops.migrations import migrate_mongo, migrate_postgres, provision_logins, with_login
from gateway.ops.seed import seed
from resolvers.execution.extension import MISMATCHES
from tests.support.issuer import AUDIENCE, TestIssuer
from tests.support.redis import RedisServer, RedisUnavailable
from tests.support.servers import ServerThread

TEST_APP_LOGIN = "omnify_gateway_test"
TEST_SYSTEM_LOGIN = "omnify_gateway_system_test"


@dataclass
class Stores:
    database_url: str  # the owner (a superuser): migrations, seeding, assertions
    mongo_url: str
    mongo_db: str
    embedded_mongo: EmbeddedMongo | None
    data_dir: Path
    app_password: str

    @property
    def app_url(self) -> str:
        """The gateway's restricted login, as `serve` would use it."""
        return with_login(self.database_url, TEST_APP_LOGIN, self.app_password)

    @property
    def system_url(self) -> str:
        """The gateway's system login (cross-tenant work, the fence key), as `serve` would use it."""
        return with_login(self.database_url, TEST_SYSTEM_LOGIN, self.app_password)


@pytest.fixture(scope="session")
def stores() -> Iterator[Stores]:
    data_dir = Path(tempfile.mkdtemp(prefix="omnify-test-"))
    pg_url = os.environ.get("OMNIFY_TEST_DATABASE_URL")
    mongo_url = os.environ.get("OMNIFY_TEST_MONGO_URL")
    postgres = mongo = None
    try:
        if not pg_url:
            postgres = EmbeddedPostgres(data_dir)
            postgres.start()
            pg_url = postgres.url
        if not mongo_url:
            mongo = EmbeddedMongo(data_dir)
            mongo.start()
            mongo_url = mongo.url
        mongo_db = os.environ.get("OMNIFY_TEST_MONGO_DB", "omnify_test")
        yield Stores(pg_url, mongo_url, mongo_db, mongo, data_dir, secrets.token_urlsafe(18))
    finally:
        if mongo:
            mongo.stop()
        if postgres:
            postgres.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


async def reset_stores(stores: Stores) -> None:
    conn = await asyncpg.connect(stores.database_url)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stores.mongo_url)
    try:
        await client.drop_database(stores.mongo_db)
    finally:
        await client.close()


@pytest.fixture(scope="session")
async def seeded(stores: Stores) -> Stores:
    """Both stores migrated and holding the demo data (acme, globex, initech)."""
    await reset_stores(stores)
    conn = await asyncpg.connect(stores.database_url)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stores.mongo_url, tz_aware=True)
    try:
        await migrate_postgres(conn)
        await provision_logins(conn, stores.app_url, stores.system_url)
        await migrate_mongo(client[stores.mongo_db])
        await seed(conn, client[stores.mongo_db], progress=False)
    finally:
        await conn.close()
        await client.close()
    return stores


@pytest.fixture(scope="session")
def issuer() -> Iterator[TestIssuer]:
    issuer = TestIssuer().start()
    yield issuer
    issuer.stop()


# Rate limits on (every response carries the headers) but too large to refuse anything: the suite sends
# thousands of requests with a few tokens. Tests of the limits start gateways with small ones.
UNLIMITED = Bucket(10**12, 10**12)
SUITE_LIMITS = RateLimits(
    roles=dict.fromkeys(RATE_LIMIT_ROLES, UNLIMITED), partner=UNLIMITED, invitee=UNLIMITED, organization=UNLIMITED
)


def gateway_settings(stores: Stores, issuer: TestIssuer, **overrides: Any) -> Settings:
    settings = Settings(
        mode="production",
        mongo_url=stores.mongo_url,
        database_url=stores.app_url,
        database_system_url=stores.system_url,
        mongo_db=stores.mongo_db,
        issuers=(IssuerConfig(issuer=issuer.url, audience=AUDIENCE),),
        store_timeout_s=2.0,
        jwks_min_refresh_interval_s=1.0,
        introspection=True,  # several tests read descriptions; the production default is tested on its own
        executor="compare",  # every read query of the suite also checks the planned executor against graphql-core
        rate_limits=SUITE_LIMITS,
    )
    return settings.with_overrides(**overrides)


@pytest.fixture(scope="session")
def gateway(seeded: Stores, issuer: TestIssuer) -> Iterator[ServerThread]:
    server = ServerThread(create_app(gateway_settings(seeded, issuer))).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def planned_matches_standard() -> Iterator[None]:
    """Fails the test during which a read query's planned answer differed from the standard one."""
    before = len(MISMATCHES)
    yield
    assert MISMATCHES[before:] == [], "planned execution differs from the standard executor (see the ERROR log)"


@pytest.fixture
async def client(gateway: ServerThread) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        yield http


async def gql(
    http: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POST a GraphQL request and return the JSON body (asserting HTTP 200)."""
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def redis_server(stores: Stores) -> Iterator[RedisServer]:
    try:
        server = RedisServer(stores.data_dir / "redis")
    except RedisUnavailable as exc:
        pytest.skip(str(exc))
    server.start()
    server.flush()
    try:
        yield server
    finally:
        server.stop()
