"""The PostgreSQL fence: what the gateway's login cannot do, even with arbitrary SQL in a request's transaction."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID

import asyncpg
import pytest
from pymongo import AsyncMongoClient

from gateway.errors import StoreUnavailable
from gateway.migrations import provision_login, url_user, with_login
from gateway.seed import oid, seed_subject, uid
from gateway.stores.postgres import PostgresStore, login_problems
from tests.conftest import Stores
from tests.test_audit_outbox import _with_database as with_database

ROOT = Path(__file__).resolve().parents[1]

TENANT_TABLES = [
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
    "idempotency_keys",
    "outbox",
]
ACME, GLOBEX = uid("org", "acme"), uid("org", "globex")


@pytest.fixture
async def app_store(seeded: Stores) -> AsyncIterator[PostgresStore]:
    """The store code exactly as a request uses it, over the gateway's login."""
    store = PostgresStore(seeded.app_url, max_size=2, timeout_s=5.0)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def owner(seeded: Stores) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(seeded.database_url)
    try:
        yield conn
    finally:
        await conn.close()


class _Undo(Exception):
    pass


async def _refused(store: PostgresStore, sql: str, *args: object) -> asyncpg.PostgresError:
    """Run `sql` inside acme's read-write (mutation) transaction; it must fail for lack of privilege."""
    with pytest.raises(asyncpg.PostgresError) as caught:
        async with store.tenant_transaction(ACME, str(oid("org", "acme"))) as tx:
            await tx.execute(sql, *args)
    assert isinstance(caught.value, asyncpg.InsufficientPrivilegeError), (sql, caught.value)
    return caught.value


async def test_the_login_holds_no_power_beyond_its_grants(seeded: Stores, owner: asyncpg.Connection) -> None:
    login, _ = url_user(seeded.app_url)
    role = await owner.fetchrow("SELECT * FROM pg_roles WHERE rolname = $1", login)
    assert role is not None and role["rolcanlogin"]
    assert not (role["rolsuper"] or role["rolbypassrls"] or role["rolcreaterole"] or role["rolcreatedb"])
    assert not role["rolreplication"]
    # It can become omnify_app (privileges only) and nothing else.
    reachable = await owner.fetch(
        "SELECT rolname FROM pg_roles WHERE pg_has_role($1, oid, 'MEMBER') AND rolname <> $1", login
    )
    assert [r["rolname"] for r in reachable] == ["omnify_app"]
    owned = await owner.fetchval(
        "SELECT count(*) FROM pg_class WHERE pg_has_role($1, relowner, 'MEMBER') "
        "AND relnamespace = 'public'::regnamespace",
        login,
    )
    assert owned == 0
    flags = {
        r["relname"]: (r["relrowsecurity"], r["relforcerowsecurity"])
        for r in await owner.fetch(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
            "WHERE relnamespace = 'public'::regnamespace AND relname = ANY($1::text[])",
            TENANT_TABLES,
        )
    }
    assert flags == {t: (True, True) for t in TENANT_TABLES}
    # Nothing is ever deleted or truncated through the API; no key column, role or secret is ever rewritten.
    for table in [*TENANT_TABLES, "schema_migrations"]:
        for privilege in ("DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"):
            assert not await owner.fetchval("SELECT has_table_privilege($1, $2, $3)", login, table, privilege), (
                table,
                privilege,
            )
        columns = [
            r["attname"]
            for r in await owner.fetch(
                "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped",
                table,
            )
        ]
        for column in set(columns) & {"id", "organization_id", "organization_key", "role", "encrypted_secret"}:
            assert not await owner.fetchval("SELECT has_column_privilege($1, $2, $3, 'UPDATE')", login, table, column)
    for table in ("organizations", "users", "api_credentials", "channels", "cohorts", "brain_states", "outbox"):
        assert not await owner.fetchval("SELECT has_table_privilege($1, $2, 'UPDATE')", login, table), table
    assert not await owner.fetchval("SELECT has_schema_privilege($1, 'public', 'CREATE')", login)
    assert not await owner.fetchval("SELECT has_database_privilege($1, current_database(), 'CREATE')", login)


async def test_a_request_transaction_cannot_escape_or_rewrite(
    app_store: PostgresStore, owner: asyncpg.Connection
) -> None:
    owner_name = await owner.fetchval("SELECT current_user")
    before = await owner.fetchval("SELECT md5(string_agg(u::text, '' ORDER BY u.id)) FROM users u")
    secrets_before = await owner.fetchval("SELECT md5(string_agg(encrypted_secret::text, '')) FROM api_credentials")

    # Dropping back to the session role changes nothing: the session role is the login itself.
    async with app_store.tenant_transaction(ACME) as tx:
        await tx.execute("RESET ROLE")
        assert await tx.fetchval("SELECT current_user") == await tx.fetchval("SELECT session_user")
        assert await tx.fetchval("SELECT count(*) FROM campaigns WHERE organization_id = $1", GLOBEX) == 0
        assert await tx.fetchval("SELECT count(DISTINCT organization_id) FROM campaigns") == 1

    for sql in (
        f'SET ROLE "{owner_name}"',
        f'SET SESSION AUTHORIZATION "{owner_name}"',
        "SET ROLE omnify_system",
        "DELETE FROM campaigns",
        "DELETE FROM outbox",
        "DELETE FROM idempotency_keys",
        "TRUNCATE campaigns",
        "UPDATE users SET role = 'owner'",
        "UPDATE api_credentials SET encrypted_secret = '\\x00'::bytea",
        "SELECT encrypted_secret FROM api_credentials",
        "UPDATE campaigns SET organization_id = organization_id",
        "UPDATE organizations SET name = 'taken'",
        "SELECT * FROM organizations",
        "SELECT * FROM outbox",
        "UPDATE outbox SET delivered_at = now()",
        "INSERT INTO users (organization_id, email, role) "
        "VALUES (app_organization_id(), 'mallory@example.com', 'owner')",
        "CREATE TABLE stolen (x int)",
        "CREATE SCHEMA stolen",
        "CREATE FUNCTION public.stolen() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "DROP TABLE campaigns",
        "ALTER TABLE campaigns DISABLE ROW LEVEL SECURITY",
        "ALTER TABLE campaigns NO FORCE ROW LEVEL SECURITY",
        "DROP POLICY tenant_isolation ON campaigns",
        "ALTER ROLE CURRENT_USER BYPASSRLS",
        "GRANT omnify_system TO CURRENT_USER",
        "SELECT * FROM schema_migrations",
    ):
        await _refused(app_store, sql)

    # The control: the same harness lets through what the API does, so the refusals above are real.
    with pytest.raises(_Undo):
        async with app_store.tenant_transaction(ACME) as tx:
            status = await tx.fetchval(
                "UPDATE creatives SET status = 'paused', updated_at = now() "
                "WHERE id = (SELECT id FROM creatives ORDER BY id LIMIT 1) RETURNING status"
            )
            assert status == "paused"
            raise _Undo  # roll back: the seeded data stays as it was

    assert await owner.fetchval("SELECT md5(string_agg(u::text, '' ORDER BY u.id)) FROM users u") == before
    assert await owner.fetchval("SELECT md5(string_agg(encrypted_secret::text, '')) FROM api_credentials") == (
        secrets_before
    )


async def test_a_forged_organization_setting_stays_inside_the_grants(app_store: PostgresStore) -> None:
    """The policies are keyed by a setting the session may change: a forged organization reads that
    organization's rows. What such SQL still cannot do is what the grants forbid."""
    async with app_store.tenant_transaction(ACME) as tx:
        await tx.execute("SELECT set_config('app.organization_id', $1, true)", str(GLOBEX))
        assert await tx.fetchval("SELECT count(*) FROM campaigns WHERE organization_id = $1", GLOBEX) == 60
    for sql in (
        "DELETE FROM campaigns",
        "UPDATE users SET role = 'owner'",
        "UPDATE api_credentials SET encrypted_secret = '\\x00'::bytea",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with app_store.tenant_transaction(ACME) as tx:
                await tx.execute("SELECT set_config('app.organization_id', $1, true)", str(GLOBEX))
                await tx.execute(sql)


async def test_system_work_goes_through_the_definer_functions(app_store: PostgresStore) -> None:
    async with app_store.system() as conn:
        assert await conn.fetchval("SELECT count(*) FROM campaigns") == 0  # no organization: no rows
        row = await conn.fetchrow("SELECT id, slug FROM directory_organization_by_slug('globex')")
        assert row is not None and (row["id"], row["slug"]) == (GLOBEX, "globex")
        row = await conn.fetchrow(
            "SELECT slug FROM directory_organization_by_enterprise_id($1)", str(oid("org", "acme"))
        )
        assert row is not None and row["slug"] == "acme"
        assert await conn.fetchval("SELECT directory_slug_of_subject($1)", UUID(seed_subject("globex", "owner"))) == (
            "globex"
        )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetchval("SELECT count(*) FROM organizations")
    # A query's transaction is read-only: it cannot claim or mark audit events at all.
    reader = app_store.reader(ACME)
    try:
        for sql in ("SELECT count(*) FROM outbox_claim(10)", "SELECT outbox_mark_delivered(ARRAY[1]::bigint[])"):
            with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
                await reader.fetch(sql)
    finally:
        await reader.close()


async def test_the_gateway_refuses_a_privileged_login(seeded: Stores, owner: asyncpg.Connection) -> None:
    assert await login_problems(owner) != []
    assert "is a superuser" in (await login_problems(owner))[0]
    app = await asyncpg.connect(seeded.app_url)
    try:
        assert await login_problems(app) == []
    finally:
        await app.close()
    # The pool never hands out a connection of a privileged login.
    store = PostgresStore(seeded.database_url, max_size=1, timeout_s=5.0)
    await store.open()
    try:
        with pytest.raises(StoreUnavailable):
            await store.reader(ACME).fetchval("SELECT 1")
    finally:
        await store.close()


def test_serve_refuses_a_privileged_login(seeded: Stores) -> None:
    """`serve` stops before listening, as for any configuration error."""
    env = {
        **os.environ,
        "DATABASE_URL": seeded.database_url,
        "MONGO_URL": seeded.mongo_url,
        "OIDC_ISSUER": "https://id.example.com/realms/omnify",
        "OIDC_AUDIENCE": "omnify-gateway",
    }
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve"], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert result.returncode == 2, result.stderr
    assert "is a superuser" in result.stderr and "DATABASE_MIGRATE_URL" in result.stderr


async def test_provisioning_corrects_an_existing_login(seeded: Stores, owner: asyncpg.Connection) -> None:
    name = "omnify_fence_probe"
    await owner.execute(f"DROP ROLE IF EXISTS {name}")
    await owner.execute(f"CREATE ROLE {name} NOLOGIN BYPASSRLS CREATEDB CREATEROLE NOINHERIT")
    try:
        assert await provision_login(owner, with_login(seeded.database_url, name, "s3cret-pw")) == name
        role = await owner.fetchrow("SELECT * FROM pg_roles WHERE rolname = $1", name)
        assert role is not None and role["rolcanlogin"] and role["rolinherit"]
        assert not (role["rolbypassrls"] or role["rolcreatedb"] or role["rolcreaterole"] or role["rolsuper"])
        assert await owner.fetchval("SELECT pg_has_role($1, 'omnify_app', 'MEMBER')", name)
        # Naming the migrating role itself provisions nothing.
        assert await provision_login(owner, seeded.database_url) is None
    finally:
        await owner.execute(f"DROP ROLE IF EXISTS {name}")


def test_login_urls() -> None:
    assert url_user("postgresql://gw:p%40ss@db:5432/brain") == ("gw", "p@ss")
    assert url_user("postgresql:///brain?host=/run/pg&user=gw") == ("gw", None)
    assert with_login("postgresql://owner:pw@db:5432/brain?sslmode=require", "gw", "a/b") == (
        "postgresql://gw:a%2Fb@db:5432/brain?sslmode=require"
    )


async def test_migrate_creates_the_login_named_by_database_url(seeded: Stores, owner: asyncpg.Connection) -> None:
    name = f"omnify_fence_{uuid.uuid4().hex[:8]}"
    login = "omnify_fence_cli"
    await owner.execute(f"DROP ROLE IF EXISTS {login}")
    await owner.execute(f'CREATE DATABASE "{name}"')
    owner_url = with_database(seeded.database_url, name)
    login_url = with_login(owner_url, login, "cli-pw")
    env = {
        **os.environ,
        "DATABASE_MIGRATE_URL": owner_url,
        "DATABASE_URL": login_url,
        "MONGO_URL": seeded.mongo_url,
        "MONGO_DB": name,
    }
    try:
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "gateway.cli", "migrate"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
        assert result.returncode == 0, result.stderr
        assert f"login {login}" in result.stdout and "0005_least_privilege" in result.stdout
        conn = await asyncpg.connect(login_url)
        try:
            assert await conn.fetchval("SELECT current_user") == login
            assert await login_problems(conn) == []
            assert await conn.fetchval("SELECT slug FROM directory_organization_by_slug('acme')") is None  # not seeded
        finally:
            await conn.close()
    finally:
        await owner.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await owner.execute(f"DROP ROLE IF EXISTS {login}")
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(seeded.mongo_url)
        try:
            await client.drop_database(name)
        finally:
            await client.close()
