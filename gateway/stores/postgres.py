"""The PostgreSQL (Brain) access layer.

Tenant scoping lives here: every request-scoped query runs inside a
transaction that has set `app.organization_id`, and the gateway connects as a
login that row-level security binds (no superuser, no BYPASSRLS, owner of
nothing; see `login_problems`). Resolvers also filter by organization in SQL;
RLS is the second fence, and the login's narrow grants the third.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from gateway.errors import StoreSaturated, StoreUnavailable
from gateway.stores.circuit import Circuit
from gateway.stores.tracing import timed

log = logging.getLogger("omnify.postgres")

if TYPE_CHECKING:
    PooledConnection = PoolConnectionProxy[asyncpg.Record]
else:
    PooledConnection = PoolConnectionProxy

# Errors that mean "the store is not there", as opposed to a bad query.
UNREACHABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.AdminShutdownError,
)
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    *UNREACHABLE_ERRORS,
    asyncio.TimeoutError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InterfaceError,
)

_RELEASE_ERRORS: tuple[type[BaseException], ...] = (StoreUnavailable, *UNAVAILABLE_ERRORS)
_RESET_ERRORS: tuple[type[BaseException], ...] = (TimeoutError, asyncpg.PostgresError, *UNAVAILABLE_ERRORS)


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
    # asyncpg's binary timestamptz decoder builds each value with timedelta arithmetic in
    # Python objects; parsing the text form with `datetime.fromisoformat` (C) takes about a
    # third of the time, and a page of a thousand rows with two time stamps each spent
    # 0.8 ms decoding them. The session's time zone is UTC and its date style ISO (see
    # `server_settings` below), so values read back are UTC datetimes as before.
    # The API cannot store `infinity` or dates BC (its DateTime is years 1-9999), which this
    # reading would refuse.
    await conn.set_type_codec(
        "timestamptz", encoder=_timestamptz_text, decoder=dt.datetime.fromisoformat, schema="pg_catalog", format="text"
    )


def _timestamptz_text(value: dt.date) -> str:
    return value.isoformat()  # a date or a datetime, as the binary encoder took


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
    # How long a caller may wait for a pooled connection, and how many may wait at once;
    # beyond either the caller is shed with `StoreSaturated` (HTTP 503 with Retry-After).
    pool_wait_s: float = 30.0
    pool_queue: int = 500
    # Seconds each acquire waited for a connection, for metrics.
    on_wait: Callable[[float], None] = field(default=lambda seconds: None, repr=False)
    pool: asyncpg.Pool | None = field(default=None, repr=False)
    circuit: Circuit = field(init=False, repr=False)
    waiting: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.circuit = Circuit("postgres", self.probe, self.timeout_s, UNREACHABLE_ERRORS)

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
            # Session defaults, so RESET ALL between borrowers keeps them: timestamptz travels as
            # text (see `_init_connection`), in UTC and ISO form.
            server_settings={"timezone": "UTC", "DateStyle": "ISO, YMD"},
        )

    async def close(self) -> None:
        await self.circuit.stop()
        if self.pool is not None:
            try:
                await asyncio.wait_for(self.pool.close(), timeout=10)
            except TimeoutError:
                self.pool.terminate()  # a hung server cannot be told goodbye
            self.pool = None

    def _pool(self) -> asyncpg.Pool:
        if self.pool is None:
            raise StoreUnavailable("postgres")
        return self.pool

    async def ping(self) -> None:
        await self.probe()

    async def probe(self) -> None:
        """`SELECT 1` on a connection of its own, so a full pool does not look like a dead store."""
        conn = await asyncpg.connect(self.url, timeout=self.timeout_s)
        try:
            await conn.fetchval("SELECT 1", timeout=self.timeout_s)
        finally:
            conn.terminate()

    async def acquire(self) -> PooledConnection:
        """A pooled connection: waits in a bounded queue for at most `pool_wait_s`.

        Waiting is normal under load and is not a store failure; only a connection
        that cannot be made (refused, or no answer while the store answers nobody)
        opens the circuit.
        """
        self.circuit.check()
        pool = self._pool()
        if self.waiting >= self.pool_queue:
            raise StoreSaturated("postgres", f"{self.waiting} requests already wait for a connection")
        self.waiting += 1
        began = time.monotonic()
        try:
            async with asyncio.timeout(self.pool_wait_s) as wait:
                conn: PooledConnection = await pool.acquire()
        except TimeoutError as exc:
            if wait.expired():
                raise StoreSaturated("postgres", f"no connection became free within {self.pool_wait_s:g} s") from exc
            # The pool's connect timed out.
            if await self.circuit.stays_silent(began):
                self.circuit.open(f"connect: {type(exc).__name__}")
            raise StoreUnavailable("postgres") from exc
        except UNREACHABLE_ERRORS as exc:
            self.circuit.open(f"connect: {type(exc).__name__}: {exc}")
            raise StoreUnavailable("postgres") from exc
        except UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable("postgres") from exc
        finally:
            self.waiting -= 1
            self.on_wait(time.monotonic() - began)
        return conn

    async def release(self, conn: PooledConnection) -> None:
        """Back to the pool; a connection of a store that stopped answering is dropped instead."""
        try:
            if self.circuit.is_open:
                conn.terminate()  # raises InterfaceError if asyncpg already took a dead one back
            await self._pool().release(conn, timeout=self.timeout_s)
        except _RESET_ERRORS as exc:
            # asyncpg closes a connection it could not reset (a store that hung while it was
            # out) and the pool makes a new one later; the request it served is already answered.
            log.info("dropped a PostgreSQL connection that could not be reset: %s", type(exc).__name__)

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
        conn = await self.acquire()
        tenant: TenantConnection | None = None
        try:
            tenant = TenantConnection(conn, organization_id, asyncio.Lock(), self.circuit)
            await tenant.execute(tenant_setup_sql(organization_id, read_only=False, enterprise_id=enterprise_id))
            try:
                yield tenant
            except BaseException:
                if not self.circuit.is_open:
                    await tenant.execute("ROLLBACK")
                raise
            await tenant.execute("COMMIT")
        finally:
            if tenant is not None:
                tenant.released = True
            await self.release(conn)

    @asynccontextmanager
    async def system(self) -> AsyncIterator[PooledConnection]:
        """A connection in no organization, for cross-tenant system work.

        It is the same restricted login: row-level security shows it no tenant
        rows, so it can only call the SECURITY DEFINER functions made for this
        work (organization directory, audit outbox).
        """
        conn = await self.acquire()
        try:
            yield conn
        finally:
            await self.release(conn)


@dataclass
class TenantConnection:
    """One connection inside a tenant-scoped transaction.

    asyncpg allows one statement at a time per connection; the lock lets
    concurrent dataloader batches share it.
    """

    conn: PooledConnection
    organization_id: UUID
    lock: asyncio.Lock
    circuit: Circuit
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
                return list(await self.circuit.call(self.conn.fetch(sql, *args)))

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        async with self.lock:
            self._check()
            with timed("postgres"):
                return await self.circuit.call(self.conn.fetchrow(sql, *args))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self.lock:
            self._check()
            with timed("postgres"):
                return await self.circuit.call(self.conn.fetchval(sql, *args))

    async def execute(self, sql: str, *args: Any) -> str:
        async with self.lock:
            self._check()
            with timed("postgres"):
                return str(await self.circuit.call(self.conn.execute(sql, *args)))

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        async with self.lock:
            self._check()
            with timed("postgres"):
                await self.circuit.call(self.conn.executemany(sql, rows))


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
                try:
                    conn = await self.store.acquire()
                except StoreSaturated:
                    raise  # not broken: the store is fine, only busy
                except StoreUnavailable:
                    self._broken = True
                    raise
                tenant = TenantConnection(conn, self.organization_id, asyncio.Lock(), self.store.circuit)
                try:
                    await tenant.execute(tenant_setup_sql(self.organization_id, read_only=True))
                except BaseException as exc:
                    # Including cancellation (a request timeout): never keep a connection we do not track.
                    tenant.released = True
                    await self.store.release(conn)
                    if isinstance(exc, _RELEASE_ERRORS):
                        self._broken = True
                        if not isinstance(exc, StoreUnavailable):
                            raise StoreUnavailable("postgres") from exc
                    raise
                self._tenant = tenant
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
            if not tenant.conn.is_closed() and not store.circuit.is_open:
                with timed("postgres"):
                    await store.circuit.call(tenant.conn.execute("ROLLBACK"))
        except _RELEASE_ERRORS:
            pass
        finally:
            tenant.released = True
            await store.release(tenant.conn)
