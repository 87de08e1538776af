"""The PostgreSQL (Brain) access layer.

Tenant scoping lives here: every request-scoped query runs inside a
transaction that has set `app.organization_id`, and the gateway connects as a
login that row-level security binds (no superuser, no BYPASSRLS, owner of
nothing; see `login_problems`). Resolvers also filter by organization in SQL;
RLS is the second fence, and the login's narrow grants the third.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from gateway.errors import StoreUnavailable
from gateway.stores.tracing import timed

log = logging.getLogger("omnify.postgres")

if TYPE_CHECKING:
    PooledConnection = PoolConnectionProxy[asyncpg.Record]
else:
    PooledConnection = PoolConnectionProxy

# Errors that mean "the store is not there", as opposed to a bad query.
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.AdminShutdownError,
)


# What makes a login unfit to serve requests: anything that escapes row-level
# security or the grants, held directly or through a role it can become.
LOGIN_CHECK = """
SELECT current_user AS login,
       ARRAY(SELECT r.rolname || ' is a superuser' FROM pg_roles r
             WHERE r.rolsuper AND pg_has_role(current_user, r.oid, 'MEMBER')
             UNION ALL
             SELECT r.rolname || ' has BYPASSRLS' FROM pg_roles r
             WHERE r.rolbypassrls AND pg_has_role(current_user, r.oid, 'MEMBER')
             UNION ALL
             SELECT r.rolname || ' has CREATEROLE' FROM pg_roles r
             WHERE r.rolcreaterole AND pg_has_role(current_user, r.oid, 'MEMBER')
             UNION ALL
             SELECT DISTINCT pg_get_userbyid(c.relowner) || ' owns tables' FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p') AND pg_has_role(current_user, c.relowner, 'MEMBER')
               AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema') AS problems
"""


async def login_problems(conn: asyncpg.Connection[asyncpg.Record] | PooledConnection) -> list[str]:
    """Why the connected login must not serve requests; empty when it is fit."""
    row = await conn.fetchrow(LOGIN_CHECK)
    assert row is not None
    if not row["problems"]:
        return []
    return [
        f"PostgreSQL login {row['login']!r} is too strong to serve requests ({'; '.join(row['problems'])}): "
        "DATABASE_URL must be the gateway's restricted login (created by `omnify-gateway migrate` when "
        "DATABASE_MIGRATE_URL names the owner), not the owner or a superuser"
    ]


async def _init_connection(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    # Checked on every new connection, not once at start: the gateway starts while
    # PostgreSQL is down, and a role can be altered while it runs.
    problems = await login_problems(conn)
    if problems:
        log.error("refusing a PostgreSQL connection: %s", problems[0])
        raise StoreUnavailable("postgres")
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


def tenant_setup_sql(organization_id: UUID, *, read_only: bool, enterprise_id: str | None = None) -> str:
    # Inlined rather than bound: it travels with BEGIN in one simple-protocol
    # round trip. The values are a parsed UUID and a checked 24-hex id, so they cannot carry SQL.
    mode = "ISOLATION LEVEL REPEATABLE READ READ ONLY" if read_only else "ISOLATION LEVEL READ COMMITTED"
    sql = f"BEGIN {mode}; SELECT set_config('app.organization_id', '{UUID(str(organization_id))}', true)"
    if enterprise_id is not None:
        if not re.fullmatch(r"[0-9a-f]{24}", enterprise_id):
            raise ValueError("enterprise organization ids are 24 hex digits")
        # Keys the gateway's own tables (idempotency keys, outbox), which belong to both stores.
        sql += f"; SELECT set_config('app.enterprise_id', '{enterprise_id}', true)"
    return sql


@dataclass
class PostgresStore:
    url: str
    min_size: int = 1
    max_size: int = 20
    timeout_s: float = 5.0
    pool: asyncpg.Pool | None = field(default=None, repr=False)

    async def open(self) -> None:
        # min_size=0 at creation so the gateway starts while PostgreSQL is
        # down; connections are made on demand and the pool heals itself.
        self.pool = await asyncpg.create_pool(
            self.url,
            min_size=0,
            max_size=self.max_size,
            timeout=self.timeout_s,
            command_timeout=max(self.timeout_s, 30.0),
            init=_init_connection,
            max_inactive_connection_lifetime=60,
        )

    async def close(self) -> None:
        if self.pool is not None:
            await asyncio.wait_for(self.pool.close(), timeout=10)
            self.pool = None

    def _pool(self) -> asyncpg.Pool:
        if self.pool is None:
            raise StoreUnavailable("postgres")
        return self.pool

    async def ping(self) -> None:
        async with self._pool().acquire(timeout=self.timeout_s) as conn:
            await conn.fetchval("SELECT 1", timeout=self.timeout_s)

    def pool_stats(self) -> tuple[int, int, int]:
        """(open, idle, max) connections, for metrics."""
        if self.pool is None:
            return 0, 0, self.max_size
        return self.pool.get_size(), self.pool.get_idle_size(), self.pool.get_max_size()

    def reader(self, organization_id: UUID) -> TenantReader:
        return TenantReader(self, organization_id)

    @asynccontextmanager
    async def tenant_transaction(
        self, organization_id: UUID, enterprise_id: str | None = None
    ) -> AsyncIterator[TenantConnection]:
        """A read-write transaction scoped to one organization, for mutations."""
        try:
            conn = await self._pool().acquire(timeout=self.timeout_s)
        except UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable("postgres") from exc
        tenant: TenantConnection | None = None
        try:
            with timed("postgres"):
                await conn.execute(tenant_setup_sql(organization_id, read_only=False, enterprise_id=enterprise_id))
            tenant = TenantConnection(conn, organization_id, asyncio.Lock())
            try:
                yield tenant
            except BaseException:
                with timed("postgres"):
                    await conn.execute("ROLLBACK")
                raise
            with timed("postgres"):
                await conn.execute("COMMIT")
        finally:
            if tenant is not None:
                tenant.released = True
            await self._pool().release(conn)

    @asynccontextmanager
    async def system(self) -> AsyncIterator[PooledConnection]:
        """A connection in no organization, for cross-tenant system work.

        It is the same restricted login: row-level security shows it no tenant
        rows, so it can only call the SECURITY DEFINER functions made for this
        work (organization directory, audit outbox).
        """
        async with self._pool().acquire(timeout=self.timeout_s) as conn:
            yield conn


@dataclass
class TenantConnection:
    """One connection inside a tenant-scoped transaction.

    asyncpg allows one statement at a time per connection; the lock lets
    concurrent dataloader batches share it.
    """

    conn: PooledConnection
    organization_id: UUID
    lock: asyncio.Lock
    # Set once the connection went back to the pool: a late statement must
    # never run there, where it could land in another request's transaction.
    released: bool = False

    def _check(self) -> None:
        if self.released:
            raise StoreUnavailable("postgres")

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self.lock:
            self._check()
            with timed("postgres"):
                return list(await self.conn.fetch(sql, *args))

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        async with self.lock:
            self._check()
            with timed("postgres"):
                return await self.conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self.lock:
            self._check()
            with timed("postgres"):
                return await self.conn.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> str:
        async with self.lock:
            self._check()
            with timed("postgres"):
                return str(await self.conn.execute(sql, *args))

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        async with self.lock:
            self._check()
            with timed("postgres"):
                await self.conn.executemany(sql, rows)


@dataclass
class TenantReader:
    """Request-scoped reads: one connection and one read-only snapshot per request.

    The connection is taken on first use, so a request that never touches
    PostgreSQL costs it nothing, and released by `close()` at request end.
    """

    store: PostgresStore
    organization_id: UUID
    _tenant: TenantConnection | None = None
    _opening: asyncio.Lock = field(default_factory=asyncio.Lock)
    _broken: bool = False

    async def _connection(self) -> TenantConnection:
        if self._tenant is not None:
            return self._tenant
        async with self._opening:
            if self._tenant is None:
                if self._broken:
                    raise StoreUnavailable("postgres")
                pool = self.store._pool()
                try:
                    conn = await pool.acquire(timeout=self.store.timeout_s)
                except UNAVAILABLE_ERRORS as exc:
                    self._broken = True
                    raise StoreUnavailable("postgres") from exc
                try:
                    with timed("postgres"):
                        await conn.execute(tenant_setup_sql(self.organization_id, read_only=True))
                except BaseException as exc:
                    # Including cancellation (a request timeout): never keep a connection we do not track.
                    await pool.release(conn)
                    if isinstance(exc, UNAVAILABLE_ERRORS):
                        self._broken = True
                        raise StoreUnavailable("postgres") from exc
                    raise
                self._tenant = TenantConnection(conn, self.organization_id, asyncio.Lock())
        return self._tenant

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        tenant = await self._connection()
        try:
            return await tenant.fetch(sql, *args)
        except UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable("postgres") from exc
        except asyncpg.PostgresError:
            # A failed statement aborts the transaction; start a fresh one so the
            # request's other fields still resolve, and let this field fail alone.
            await self.refresh()
            raise

    async def refresh(self) -> None:
        """End the current snapshot; the next read opens a new one (after a failure, or a write)."""
        async with self._opening:
            tenant, self._tenant = self._tenant, None
        if tenant is not None:
            await _release(self.store, tenant)

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchrow(sql, *args)
        return row[0] if row is not None else None

    async def close(self) -> None:
        # graphql-core can finish a request (an error nulling a parent) while
        # sibling resolvers are still running; wait for their statement to end
        # under the connection lock, and refuse any that start afterwards.
        async with self._opening:
            self._broken = True
            tenant, self._tenant = self._tenant, None
        if tenant is not None:
            await _release(self.store, tenant)


async def _release(store: PostgresStore, tenant: TenantConnection) -> None:
    async with tenant.lock:
        try:
            if not tenant.conn.is_closed():
                with timed("postgres"):
                    await tenant.conn.execute("ROLLBACK")
        except UNAVAILABLE_ERRORS:
            pass
        finally:
            tenant.released = True
            await store._pool().release(tenant.conn)
