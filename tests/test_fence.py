"""The PostgreSQL fence: what the gateway's login cannot do, even with arbitrary SQL in a request's transaction."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID

import asyncpg
import httpx
import orjson
import pytest
from pymongo import AsyncMongoClient

from gateway.core.bus import CHANNEL, Notice, channel, seal, unseal
from gateway.core.config import ConfigError, Settings
from gateway.data import ids
from gateway.errors import StoreUnavailable
from gateway.ops.logins import check_database_logins
from gateway.ops.migrations import (
    SYSTEM_PRIVILEGE_ROLE,
    MigrationError,
    fence_pads,
    provision_login,
    provision_logins,
    url_user,
    with_login,
)
from gateway.ops.seed import oid, seed_subject, uid
from gateway.stores.fence import SYSTEM_LOGIN, FenceKey, FenceKeys, login_problems, session_settings
from gateway.stores.postgres import PostgresStore
from tests.conftest import TEST_APP_LOGIN, Stores, gql
from tests.support import fence
from tests.support.issuer import TestIssuer
from tests.support.servers import ServerThread
from tests.test_audit_outbox import _with_database as with_database
from tests.test_subscriptions import ACTIONS, SYNC_JOB, campaign_pair, next_event, settle, shift, socket
from tests.test_subscriptions import ORG as SUBSCRIBED

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
    "api_credential_secrets",
    "sync_jobs",
    "action_logs",
    "idempotency_keys",
    "outbox",
]
ACME, GLOBEX = uid("org", "acme"), uid("org", "globex")


@pytest.fixture
async def app_store(seeded: Stores) -> AsyncIterator[PostgresStore]:
    """The store code exactly as a request uses it, over the gateway's login."""
    store = PostgresStore(seeded.app_url, max_size=2, timeout_s=5.0, system_url=seeded.system_url)
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
    # No large objects: they live outside row-level security and any table's size.
    for function in ("lo_create(oid)", "lo_creat(integer)", "lo_from_bytea(oid, bytea)"):
        assert not await owner.fetchval("SELECT has_function_privilege($1, $2, 'EXECUTE')", login, function), function


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


async def test_a_forged_tenancy_shows_nothing_and_writes_nothing(app_store: PostgresStore) -> None:
    """Inside acme's transaction, SQL may set any setting it likes: neither the old organization setting nor a
    tenancy claim it made up admits a single row of another organization, or lets it write one."""
    globex_enterprise = str(oid("org", "globex"))
    forged_claims = [
        f"1:{GLOBEX}::{'0' * 64}",  # the right shape, a made-up signature
        f"1:{GLOBEX}:{globex_enterprise}:{'f' * 64}",
        f"{GLOBEX}",
        "",
    ]
    async with app_store.tenant_transaction(ACME, str(oid("org", "acme"))) as tx:
        assert await tx.fetchval("SELECT count(*) FROM campaigns") == 60  # the control: acme's own rows
        await tx.execute("SELECT set_config('app.organization_id', $1, true)", str(GLOBEX))
        await tx.execute("SELECT set_config('app.enterprise_id', $1, true)", globex_enterprise)
        assert await tx.fetchval("SELECT count(DISTINCT organization_id) FROM campaigns") == 1
        assert await tx.fetchval("SELECT count(*) FROM campaigns WHERE organization_id = $1", GLOBEX) == 0
        for claim in forged_claims:
            assert await tx.fetchval("SELECT fence_enter($1)", claim) is False
            assert await tx.fetchval("SELECT app_organization_id()") is None
            for table in ("campaigns", "users", "daily_metrics", "action_logs", "idempotency_keys"):
                assert await tx.fetchval(f"SELECT count(*) FROM {table}") == 0, (claim, table)
            await tx.execute("SELECT set_config('app.fence', $1, true)", claim)
            assert await tx.fetchval("SELECT count(*) FROM campaigns") == 0
            # Writes find nothing to change, and a new row of another organization is refused.
            status = await tx.execute(
                "UPDATE campaigns SET daily_budget = 1, updated_at = now() WHERE organization_id = $1", GLOBEX
            )
            assert status == "UPDATE 0"
            assert await tx.execute("UPDATE creatives SET status = 'paused', updated_at = now()") == "UPDATE 0"
    for sql, args in (
        (
            "INSERT INTO action_logs (organization_id, actor_kind, actor_id, action, target_type, target_id, "
            "payload, result, status) VALUES ($1, 'user', 'mallory', 'forged', 'Campaign', 'x', '{}', '{}', "
            "'succeeded')",
            (GLOBEX,),
        ),
        (
            "INSERT INTO idempotency_keys (organization_key, key, operation, request_hash, response) "
            "VALUES ($1, 'k', 'op', 'h', '{}')",
            (globex_enterprise,),
        ),
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
            async with app_store.tenant_transaction(ACME, str(oid("org", "acme"))) as tx:
                await tx.execute("SELECT set_config('app.fence', $1, true)", forged_claims[1])
                await tx.execute(sql, *args)


async def test_a_claim_signed_for_another_backend_verifies_nowhere_else(app_store: PostgresStore) -> None:
    """A genuine claim, taken from the session it was signed for, is worth nothing on any other backend."""
    globex = app_store.reader(GLOBEX)
    try:
        assert await globex.fetchval("SELECT count(*) FROM campaigns") == 60
        stolen = await globex.fetchval("SELECT current_setting('app.fence')")
        assert str(GLOBEX) in stolen
        acme = app_store.reader(ACME)
        try:
            assert await acme.fetchval("SELECT count(*) FROM campaigns") == 60
            assert await acme.fetchval("SELECT pg_backend_pid()") != await globex.fetchval("SELECT pg_backend_pid()")
            assert await acme.fetchval("SELECT fence_enter($1)", stolen) is False
            assert await acme.fetchval("SELECT count(*) FROM campaigns") == 0
        finally:
            await acme.close()
    finally:
        await globex.close()


async def test_cross_tenant_functions_belong_to_the_system_login(seeded: Stores, app_store: PostgresStore) -> None:
    system_calls = [
        "SELECT * FROM directory_organization_by_slug('globex')",
        f"SELECT * FROM directory_organization_by_enterprise_id('{oid('org', 'acme')}')",
        f"SELECT directory_slug_of_subject('{seed_subject('globex', 'owner')}')",
        "SELECT * FROM outbox_claim(10)",
        "SELECT outbox_postpone(1, 'x', 1)",
        "SELECT outbox_mark_delivered(ARRAY[1]::bigint[])",
        "SELECT outbox_postpone_batch(ARRAY[1]::bigint[], ARRAY['x'], ARRAY[1]::float8[])",
        "SELECT * FROM outbox_lag()",
        "SELECT fence_key()",
        "SELECT * FROM fence_keys",
    ]
    # The request login, even in a read-write transaction: none of it.
    for sql in system_calls:
        await _refused(app_store, sql)
    login = await asyncpg.connect(seeded.app_url)
    try:
        for sql in system_calls:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await login.fetch(sql)
    finally:
        await login.close()
    # The system login: exactly those functions, and no tenant table.
    async with app_store.system() as conn:
        assert len(await conn.fetchval("SELECT fence_key()")) == 32
        for table in ("campaigns", "users", "organizations", "outbox", "fence_keys"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetchval(f"SELECT count(*) FROM {table}")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE campaigns SET daily_budget = 0")


async def test_a_changed_key_is_read_again_and_a_lost_one_fails_loudly(
    seeded: Stores, owner: asyncpg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    store = PostgresStore(seeded.app_url, max_size=1, timeout_s=5.0, system_url=seeded.system_url)
    await store.open()
    original = await owner.fetchrow("SELECT key, inner_pad, outer_pad FROM fence_keys")
    assert original is not None
    try:
        reader = store.reader(ACME)
        assert await reader.fetchval("SELECT count(*) FROM campaigns") == 60
        await reader.close()
        cached = store.keys.cached
        # A new key (as after restoring another database): the next transaction reads it again, once.
        secret = os.urandom(32)
        await owner.execute(
            "UPDATE fence_keys SET key = $1, inner_pad = $2, outer_pad = $3", secret, *fence_pads(secret)
        )
        reader = store.reader(ACME)
        assert await reader.fetchval("SELECT count(*) FROM campaigns") == 60
        await reader.close()
        assert store.keys.cached is not cached and store.keys.cached == FenceKey(secret)
        # No key at all: an unavailable store and an ERROR naming the fix, never a silently empty answer.
        await owner.execute("DELETE FROM fence_keys")
        store.keys = FenceKeys(store.keys.load)
        with pytest.raises(StoreUnavailable):
            await store.reader(ACME).fetchval("SELECT count(*) FROM campaigns")
        assert any(r.levelname == "ERROR" and "migrate" in r.getMessage() for r in caplog.records)
    finally:
        await owner.execute("DELETE FROM fence_keys")
        await owner.execute("INSERT INTO fence_keys (id, key, inner_pad, outer_pad) VALUES (1, $1, $2, $3)", *original)
        await store.close()


async def test_system_work_goes_through_the_definer_functions(app_store: PostgresStore) -> None:
    async with app_store.system() as conn:
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


async def test_the_gateway_refuses_a_privileged_login(seeded: Stores, owner: asyncpg.Connection) -> None:
    assert await login_problems(owner) != []
    assert "is a superuser" in (await login_problems(owner))[0]
    app = await asyncpg.connect(seeded.app_url)
    system = await asyncpg.connect(seeded.system_url)
    try:
        assert await login_problems(app) == []
        assert await login_problems(system, SYSTEM_LOGIN) == []
        # Each login is unfit for the other's work: it holds the other's rights' opposite number.
        assert "is a member of omnify_app" in (await login_problems(system))[0]
        assert "is a member of omnify_app_system" not in " ".join(await login_problems(app))
        assert "is a member of omnify_app" in (await login_problems(app, SYSTEM_LOGIN))[0]
    finally:
        await app.close()
        await system.close()
    # The pool never hands out a connection of a privileged login.
    store = PostgresStore(seeded.database_url, max_size=1, timeout_s=5.0, system_url=seeded.system_url)
    await store.open()
    try:
        with pytest.raises(StoreUnavailable):
            await store.reader(ACME).fetchval("SELECT 1")
    finally:
        await store.close()


def _serve_once(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`serve` with this environment, expected to stop at its start-up check."""
    command = [sys.executable, "-m", "gateway.ops.cli", "serve"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)


def test_serve_refuses_a_privileged_login(seeded: Stores) -> None:
    """`serve` stops before listening, as for any configuration error."""
    env = {
        **os.environ,
        "DATABASE_URL": seeded.database_url,
        "DATABASE_SYSTEM_URL": seeded.system_url,
        "MONGO_URL": seeded.mongo_url,
        "OIDC_ISSUER": "https://id.example.com/realms/omnify",
        "OIDC_AUDIENCE": "omnify-gateway",
    }
    result = _serve_once(env)
    assert result.returncode == 2, result.stderr
    assert "is a superuser" in result.stderr and "DATABASE_MIGRATE_URL" in result.stderr
    # One start-up names every problem: the login's beside the configuration's own.
    del env["OIDC_ISSUER"], env["OIDC_AUDIENCE"]
    result = _serve_once(env)
    assert result.returncode == 2, result.stderr
    assert "is a superuser" in result.stderr and "OIDC_ISSUER is not set" in result.stderr


async def test_serve_refuses_the_request_login_as_the_system_login(seeded: Stores) -> None:
    settings = Settings(
        mode="production",
        mongo_url=seeded.mongo_url,
        database_url=seeded.app_url,
        database_system_url=seeded.app_url.replace("postgresql://", "postgres://"),  # the same login, spelt apart
        issuers=(),
    )
    with pytest.raises(ConfigError) as caught:
        await check_database_logins(settings)
    text = str(caught.value)
    assert "both log in as 'omnify_gateway_test'" in text and "is a member of omnify_app" in text
    await check_database_logins(settings.with_overrides(database_system_url=seeded.system_url))


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
        # Moved to system work: it gives up the request rights (and back).
        system_url = with_login(seeded.database_url, name, "s3cret-pw")
        assert await provision_login(owner, system_url, SYSTEM_PRIVILEGE_ROLE, "DATABASE_SYSTEM_URL") == name
        assert not await owner.fetchval("SELECT pg_has_role($1, 'omnify_app', 'MEMBER')", name)
        assert await owner.fetchval("SELECT pg_has_role($1, 'omnify_app_system', 'MEMBER')", name)
        assert await provision_login(owner, system_url) == name
        assert not await owner.fetchval("SELECT pg_has_role($1, 'omnify_app_system', 'MEMBER')", name)
        with pytest.raises(MigrationError, match="another login"):
            await provision_logins(owner, system_url, system_url)
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
    login, system = "omnify_fence_cli", "omnify_fence_cli_system"
    await owner.execute(f"DROP ROLE IF EXISTS {login}")
    await owner.execute(f"DROP ROLE IF EXISTS {system}")
    await owner.execute(f'CREATE DATABASE "{name}"')
    owner_url = with_database(seeded.database_url, name)
    login_url = with_login(owner_url, login, "cli-pw")
    system_url = with_login(owner_url, system, "cli-system-pw")
    env = {
        **os.environ,
        "DATABASE_MIGRATE_URL": owner_url,
        "DATABASE_URL": login_url,
        "DATABASE_SYSTEM_URL": system_url,
        "MONGO_URL": seeded.mongo_url,
        "MONGO_DB": name,
    }
    try:
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "gateway.ops.cli", "migrate"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
        assert result.returncode == 0, result.stderr
        assert (
            f"login {login}, login {system}" in result.stdout
            and "0013_fence" in result.stdout
            and "fence key" in result.stdout
        )
        conn = await asyncpg.connect(login_url)
        try:
            assert await conn.fetchval("SELECT current_user") == login
            assert await login_problems(conn) == []
            assert not await conn.fetchval("SELECT has_database_privilege(current_database(), 'TEMPORARY')")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetchval("SELECT slug FROM directory_organization_by_slug('acme')")
        finally:
            await conn.close()
        conn = await asyncpg.connect(system_url)
        try:
            assert await login_problems(conn, SYSTEM_LOGIN) == []
            assert await conn.fetchval("SELECT slug FROM directory_organization_by_slug('acme')") is None  # not seeded
            assert len(await conn.fetchval("SELECT fence_key()")) == 32
        finally:
            await conn.close()
        # Run again: nothing left to do, and the key stays.
        again = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "gateway.ops.cli", "migrate"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
        assert again.returncode == 0, again.stderr
        assert "fence key" not in again.stdout and "0013" not in again.stdout
    finally:
        await owner.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await owner.execute(f"DROP ROLE IF EXISTS {login}")
        await owner.execute(f"DROP ROLE IF EXISTS {system}")
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(seeded.mongo_url)
        try:
            await client.drop_database(name)
        finally:
            await client.close()


# --- pooled sessions: nothing a transaction leaves reaches the next borrower ----------------------


@pytest.fixture
async def one_connection(seeded: Stores) -> AsyncIterator[PostgresStore]:
    """The store with a pool of one connection: every transaction below runs on the same backend."""
    store = PostgresStore(seeded.app_url, max_size=1, timeout_s=5.0, system_url=seeded.system_url)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def _backend(store: PostgresStore, organization: UUID) -> int:
    reader = store.reader(organization)
    try:
        return int(await reader.fetchval("SELECT pg_backend_pid()"))
    finally:
        await reader.close()


async def test_temporary_objects_are_refused_and_could_not_outlive_a_transaction(
    seeded: Stores, one_connection: PostgresStore, owner: asyncpg.Connection
) -> None:
    store = one_connection
    backend = await _backend(store, ACME)
    for sql in ("CREATE TEMP TABLE action_logs (id uuid)", "CREATE TEMPORARY VIEW campaigns AS SELECT 1 AS id"):
        await _refused(store, sql)
    assert await _backend(store, ACME) == backend
    # Even where TEMPORARY were granted back (the gateway would then refuse new connections, but this one
    # is open already), a shadowing table and a search path preferring it end with the transaction.
    database = await owner.fetchval("SELECT current_database()")
    await owner.execute(f'GRANT TEMPORARY ON DATABASE "{database}" TO {TEST_APP_LOGIN}')
    try:
        async with store.tenant_transaction(GLOBEX, str(oid("org", "globex"))) as tx:
            await tx.execute("CREATE TEMP TABLE action_logs AS SELECT * FROM public.action_logs LIMIT 0")
            await tx.execute("CREATE TEMP TABLE campaigns AS SELECT * FROM public.campaigns LIMIT 0")
            await tx.execute("SELECT set_config('search_path', 'pg_temp, public', false)")
            assert await tx.fetchval("SELECT count(*) FROM campaigns") == 0  # shadowed, in the attacker's session
    finally:
        await owner.execute(f'REVOKE TEMPORARY ON DATABASE "{database}" FROM {TEST_APP_LOGIN}')
    async with store.tenant_transaction(ACME, str(oid("org", "acme"))) as tx:
        assert tx.conn.get_server_pid() == backend
        assert await tx.fetchval("SELECT current_setting('search_path')") == "pg_catalog, public, pg_temp"
        assert await tx.fetchval("SELECT to_regclass('pg_temp.action_logs')") is None
        assert await tx.fetchval("SELECT 'action_logs'::regclass = 'public.action_logs'::regclass")
        assert await tx.fetchval("SELECT count(*) FROM campaigns") == 60


async def test_nothing_a_transaction_leaves_in_its_session_reaches_the_next(one_connection: PostgresStore) -> None:
    store = one_connection
    backend = await _backend(store, ACME)
    async with store.tenant_transaction(GLOBEX, str(oid("org", "globex"))) as tx:
        for sql in (
            "SELECT set_config('statement_timeout', '7s', false)",
            "SELECT set_config('app.fence', 'forged', false)",
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
            "SELECT pg_advisory_lock(4242)",
            "LISTEN omnify_events",
            "DECLARE kept CURSOR WITH HOLD FOR SELECT id, name FROM campaigns",
            "SELECT nextval('outbox_id_seq')",
            "SET ROLE omnify_app",  # a role the login is a member of: RESET ALL alone keeps it
        ):
            await tx.execute(sql)
    reader = store.reader(ACME)
    try:
        assert await reader.fetchval("SELECT pg_backend_pid()") == backend
        assert await reader.fetchval("SELECT current_user = session_user")
        assert await reader.fetchval("SHOW statement_timeout") == "30s"
        assert await reader.fetchval("SHOW default_transaction_read_only") == "off"
        assert await reader.fetchval("SELECT count(*) FROM pg_listening_channels()") == 0
        assert await reader.fetchval("SELECT count(*) FROM pg_cursors WHERE name = 'kept'") == 0
        assert (
            await reader.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
            )
            == 0
        )
        assert await reader.fetchval("SELECT count(*) FROM campaigns") == 60
        with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):  # currval: nothing drawn in this session
            await reader.fetchval("SELECT currval('outbox_id_seq')")
    finally:
        await reader.close()


CAMPAIGN_PAGE = "SELECT id, name FROM campaigns WHERE organization_id = $1 ORDER BY id LIMIT 5"


async def test_a_prepared_statement_swap_is_discarded_before_anyone_uses_it(
    one_connection: PostgresStore, caplog: pytest.LogCaptureFixture
) -> None:
    """asyncpg binds its cached statements by name; SQL can `DEALLOCATE` one and `PREPARE` another under the
    name. The connection is reset and checked on its way back, and discarded: the next borrower gets its own
    rows, with no error, from a new connection."""
    store = one_connection
    reader = store.reader(ACME)
    try:
        # Not the first statement, which carries the tenancy's entry (a statement text of its own).
        backend = await reader.fetchval("SELECT pg_backend_pid()")
        expected = [tuple(r) for r in await reader.fetch(CAMPAIGN_PAGE, ACME)]
    finally:
        await reader.close()
    attacks = [
        "DEALLOCATE {name}; PREPARE {name} (uuid) AS "
        "SELECT id, 'taken'::text AS name FROM campaigns WHERE organization_id <> $1 LIMIT 5",
        "DEALLOCATE {name}",  # gone: the next Bind by that name would fail in the neighbour's request
        "DEALLOCATE ALL",
    ]
    for attack in attacks:
        async with store.tenant_transaction(GLOBEX, str(oid("org", "globex"))) as tx:
            assert tx.conn.get_server_pid() == backend
            name = await tx.fetchval("SELECT name FROM pg_prepared_statements WHERE statement = $1", CAMPAIGN_PAGE)
            assert name is not None and name.startswith("__asyncpg_stmt_")
            for sql in attack.format(name=name).split("; "):
                await tx.execute(sql)
        reader = store.reader(ACME)
        try:
            replaced, backend = backend, await reader.fetchval("SELECT pg_backend_pid()")
            assert [tuple(r) for r in await reader.fetch(CAMPAIGN_PAGE, ACME)] == expected, attack
        finally:
            await reader.close()
        assert backend != replaced, attack
        assert any(r.levelname == "ERROR" and "tampered" in r.getMessage() for r in caplog.records), attack
        caplog.clear()


async def test_role_settings_are_refused_and_the_session_settings_pinned(
    seeded: Stores, owner: asyncpg.Connection
) -> None:
    """A login may `ALTER ROLE` its own session defaults, and PostgreSQL has no privilege to stop it: the
    gateway's own settings win over them (they travel in the startup packet), and a login that carries any
    is refused, by `serve` and by every new pooled connection, until `migrate` (or RESET ALL) removes them."""
    name = "omnify_fence_settings"
    await owner.execute(f"DROP ROLE IF EXISTS {name}")
    url = with_login(seeded.database_url, name, "settings-pw")
    try:
        await provision_login(owner, url)
        login = await asyncpg.connect(url)
        try:
            async with login.transaction():
                await login.execute(f"ALTER ROLE {name} SET statement_timeout = '1ms'")
                await login.execute(f"ALTER ROLE {name} SET search_path = pg_temp, public")
        finally:
            await login.close()
        pinned = await asyncpg.connect(url, server_settings=session_settings(30.0, "probe"))
        try:
            assert await pinned.fetchval("SHOW statement_timeout") == "30s"
            assert await pinned.fetchval("SHOW search_path") == "pg_catalog, public, pg_temp"
            problems = await login_problems(pinned)
        finally:
            await pinned.close()
        assert len(problems) == 1 and "statement_timeout=1ms" in problems[0] and "RESET ALL" in problems[0]
        store = PostgresStore(url, max_size=1, timeout_s=5.0, system_url=seeded.system_url)
        await store.open()
        try:
            with pytest.raises(StoreUnavailable):
                await store.reader(ACME).fetchval("SELECT 1")
        finally:
            await store.close()
        settings = Settings(
            mode="production",
            mongo_url=seeded.mongo_url,
            database_url=url,
            database_system_url=seeded.system_url,
            issuers=(),
        )
        with pytest.raises(ConfigError, match="carries role settings"):
            await check_database_logins(settings)
        await provision_login(owner, url)  # what `migrate` does
        await check_database_logins(settings)
    finally:
        await owner.execute(f"DROP ROLE IF EXISTS {name}")


# --- the event bus and what other sessions of the login can see ----------------------------------


def _dropped(metrics: str, reason: str) -> float:
    found = re.search(rf'omnify_ws_events_dropped_total{{reason="{reason}"}} ([0-9.e+]+)', metrics)
    return float(found[1]) if found else 0.0


async def test_the_bus_carries_sealed_notices_and_drops_forged_ones(
    seeded: Stores, gateway: ServerThread, client: httpx.AsyncClient, issuer: TestIssuer, app_store: PostgresStore
) -> None:
    """Any session may NOTIFY on any channel and LISTEN to any: the gateway's is named by the fence key, so
    a session of the request login does not know where to listen or send (a flood on the well-known
    name never reaches the gateways). Were the name to leak, it would hear only ciphertext, and nothing
    it sends (a notice in the clear, for any organization; one sealed under another key; a genuine one
    replayed) reaches a subscriber, which keeps receiving the real events."""
    key = await fence.fence_key(seeded.database_url)
    enterprise = str(oid("org", SUBSCRIBED))
    reader = app_store.reader(uid("org", SUBSCRIBED))
    try:
        job = await reader.fetchval("SELECT id FROM sync_jobs LIMIT 1")
    finally:
        await reader.close()
    heard: list[str] = []
    arrived = asyncio.Event()

    def hear(conn: object, pid: int, channel: str, payload: object) -> None:
        heard.append(str(payload))
        arrived.set()

    guessed: list[str] = []
    listener = await asyncpg.connect(seeded.app_url)
    await listener.add_listener(channel(key), hear)  # the name, as if it had leaked
    await listener.add_listener(CHANNEL, lambda *args: guessed.append(str(args[-1])))  # the name one would guess
    source, target = await campaign_pair(client, issuer)
    marketer = issuer.token(SUBSCRIBED, "marketer")
    try:
        async with socket(gateway.url, issuer.token(SUBSCRIBED, "viewer")) as sub:
            await sub.subscribe("a", ACTIONS)
            await sub.subscribe("j", SYNC_JOB)
            await settle()
            done = await shift(client, marketer, source, target, "0.01")
            assert (await next_event(sub, "a", within=30))["actionLogged"]["id"] == done["actionLog"]["id"]
            action_id = ids.raw_id(done["actionLog"]["id"], "ActionLog")
            async with asyncio.timeout(30):
                while not (sealed := [p for p in heard if (o := unseal(key, p)) and o.notice.id == action_id]):
                    arrived.clear()
                    await arrived.wait()
            for payload in heard:  # what the login hears tells it nothing
                assert enterprise not in payload and action_id not in payload and "shiftBudget" not in payload
                with pytest.raises(orjson.JSONDecodeError):
                    orjson.loads(payload)
            before = (await client.get("/metrics")).text
            in_clear = {"k": "action", "o": enterprise, "id": action_id, "t": "SyncJob", "ti": str(job)}
            in_clear["job"] = {"status": "bogus", "records": -1}
            forged = [
                orjson.dumps(in_clear).decode(),  # the old wire format: valid JSON, the subscriber's organization
                orjson.dumps({**in_clear, "o": str(oid("org", "acme"))}).decode(),
                seal(FenceKey(os.urandom(32)), Notice("action", enterprise, action_id, in_clear)),  # another key
                sealed[0],  # a genuine notice, replayed
            ]
            stale = seal(key, Notice("action", enterprise, action_id), now=time.time() - 3600)
            for payload in [*forged, stale]:  # sent by the request login, each in a transaction that commits
                await listener.execute("SELECT pg_notify($1, $2)", channel(key), payload)
            assert await sub.silent(1.5) == []
            # On the well-known name: a thousand notices the gateways never see (nothing dropped, nothing opened).
            await listener.execute("SELECT pg_notify($1, i::text) FROM generate_series(1, 1000) i", CHANNEL)
            assert all(payload.isdigit() for payload in guessed)  # no gateway ever announced there
            back = await shift(client, marketer, target, source, "0.01")
            assert (await next_event(sub, "a", within=30))["actionLogged"]["id"] == back["actionLog"]["id"]
            after = (await client.get("/metrics")).text
            assert _dropped(after, "forged") - _dropped(before, "forged") == len(forged)  # the flood: not one
            assert channel(key) != CHANNEL and channel(FenceKey(os.urandom(32))) != channel(key)
            assert _dropped(after, "stale") - _dropped(before, "stale") >= 1
    finally:
        await listener.close()


async def test_pg_stat_activity_never_shows_tenancy_while_requests_run(
    seeded: Stores, client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    """Every session of a login sees the statement texts of the others: none carries an organization's id
    or a signed claim (they travel as bound parameters)."""
    orgs = ("acme", "globex", "initech")
    secrets = {str(uid("org", slug)) for slug in orgs} | {str(oid("org", slug)) for slug in orgs}
    tokens = [issuer.token(slug, "admin") for slug in orgs]
    query = "{ organization { campaigns(first: 3) { edges { node { id name } } } syncJobs(first: 2) { totalCount } } }"
    watcher = await asyncpg.connect(seeded.app_url)
    seen: set[str] = set()
    try:
        burst = asyncio.gather(*(gql(client, query, token=tokens[i % 3]) for i in range(90)))
        while not burst.done():
            rows = await watcher.fetch(
                "SELECT query FROM pg_stat_activity WHERE usename = current_user AND pid <> pg_backend_pid()"
            )
            seen.update(r["query"] for r in rows)
        assert all("errors" not in body for body in await burst)
    finally:
        await watcher.close()
    assert any("fence_enter" in q for q in seen), seen
    leaks = [q for q in seen if any(s in q for s in secrets) or re.search(r"[0-9a-f]{64}", q)]
    assert leaks == []
