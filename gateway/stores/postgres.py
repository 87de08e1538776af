"""The PostgreSQL (Brain) access layer.

Tenant scoping lives here: every request-scoped query runs inside a
transaction that entered its organization's signed tenancy (gateway/stores/fence.py),
and the gateway connects as a login that row-level security binds (no
superuser, no BYPASSRLS, owner of nothing; see `login_problems`). Resolvers
also filter by organization in SQL; RLS is the second fence, and the login's
narrow grants the third. Cross-tenant system work runs on a second login with
a small pool of its own (`system()`), which the request login cannot act as.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from gateway.errors import StoreSaturated, StoreUnavailable
from gateway.stores.circuit import Circuit
from gateway.stores.fence import (
    BEGIN_READ,
    BEGIN_WRITE,
    ENTER,
    REQUEST_LOGIN,
    SYSTEM_LOGIN,
    TAMPERED,
    FenceKeys,
    Login,
    login_problems,
    reset_statement,
    session_settings,
)
from gateway.stores.tenant import (
    RELEASE_ERRORS,
    RESET_ERRORS,
    UNAVAILABLE_ERRORS,
    UNREACHABLE_ERRORS,
    TenantConnection,
    TenantReader,
)
from gateway.stores.tracing import timed

__all__ = ["UNAVAILABLE_ERRORS", "UNREACHABLE_ERRORS", "PostgresStore", "TenantConnection", "TenantReader"]

log = logging.getLogger("omnify.postgres")

if TYPE_CHECKING:
    PooledConnection = PoolConnectionProxy[asyncpg.Record]
else:
    PooledConnection = PoolConnectionProxy


async def _check_login(conn: asyncpg.Connection[asyncpg.Record], login: Login) -> None:
    # Checked on every new connection, not once at start: the gateway starts while
    # PostgreSQL is down, and a role can be altered while it runs.
    problems = await login_problems(conn, login)
    if problems:
        log.error("refusing a PostgreSQL connection: %s", "; ".join(problems))
        raise StoreUnavailable("postgres")


async def _init_system_connection(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    await _check_login(conn, SYSTEM_LOGIN)


async def _init_connection(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    await _check_login(conn, REQUEST_LOGIN)
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    # asyncpg's binary timestamptz decoder builds each value with timedelta arithmetic in
    # Python objects; parsing the text form with `datetime.fromisoformat` (C) takes about a
    # third of the time, and a page of a thousand rows with two time stamps each spent
    # 0.8 ms decoding them. The session's time zone is UTC and its date style ISO (see
    # `session_settings` in gateway/stores/fence.py), so values read back are UTC datetimes as before.
    # The API cannot store `infinity` or dates BC (its DateTime is years 1-9999), which this
    # reading would refuse.
    await conn.set_type_codec(
        "timestamptz", encoder=_timestamptz_text, decoder=dt.datetime.fromisoformat, schema="pg_catalog", format="text"
    )


def _timestamptz_text(value: dt.date) -> str:
    return value.isoformat()  # a date or a datetime, as the binary encoder took


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
    # The system login (DATABASE_SYSTEM_URL) and the size of its own small pool.
    system_url: str = ""
    system_max_size: int = 4
    # Pinned on every connection: the longest a statement may run (the request timeout).
    statement_timeout_s: float = 30.0
    pool: asyncpg.Pool | None = field(default=None, repr=False)
    system_pool: asyncpg.Pool | None = field(default=None, repr=False)
    circuit: Circuit = field(init=False, repr=False)
    keys: FenceKeys = field(init=False, repr=False)
    waiting: int = field(default=0, init=False)
    # Backends whose session was reset on the way back (see `_give_back`), until the pool takes them.
    _reset_done: set[int] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        self.circuit = Circuit("postgres", self.probe, self.timeout_s, UNREACHABLE_ERRORS)
        self.keys = FenceKeys(self._read_fence_key)

    async def open(self) -> None:
        # min_size=0 at creation so the gateway starts while PostgreSQL is
        # down; connections are made on demand and the pools heal themselves.
        self.pool = await self._create_pool(self.url, self.max_size, _init_connection, "omnify-gateway")
        if self.system_url:
            self.system_pool = await self._create_pool(
                self.system_url, self.system_max_size, _init_system_connection, "omnify-gateway-system"
            )

    async def _create_pool(
        self,
        url: str,
        size: int,
        init: Callable[[asyncpg.Connection[asyncpg.Record]], Coroutine[Any, Any, None]],
        name: str,
    ) -> asyncpg.Pool:
        pool: asyncpg.Pool = await asyncpg.create_pool(
            url,
            min_size=0,
            max_size=size,
            timeout=self.timeout_s,
            command_timeout=max(self.timeout_s, 30.0),
            init=init,
            reset=self._reset_session,
            max_inactive_connection_lifetime=60,
            # Session defaults, so RESET ALL between borrowers comes back to them.
            server_settings=session_settings(self.statement_timeout_s, name),
        )
        return pool

    async def close(self) -> None:
        await self.circuit.stop()
        for name in ("pool", "system_pool"):
            pool: asyncpg.Pool | None = getattr(self, name)
            if pool is not None:
                try:
                    await asyncio.wait_for(pool.close(), timeout=10)
                except TimeoutError:
                    pool.terminate()  # a hung server cannot be told goodbye
                setattr(self, name, None)

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
            return await self._take(pool, began)
        finally:
            self.waiting -= 1
            self.on_wait(time.monotonic() - began)

    async def _take(self, pool: asyncpg.Pool, began: float) -> PooledConnection:
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
        self._reset_done.discard(conn.get_server_pid())
        return conn

    async def release(self, conn: PooledConnection) -> None:
        """Back to the pool, reset; a connection of a store that stopped answering is dropped instead."""
        await self._give_back(self._pool(), conn)

    async def _give_back(self, pool: asyncpg.Pool, conn: PooledConnection) -> None:
        try:
            await self._reset_before_release(conn)
        finally:
            try:
                if self.circuit.is_open:
                    conn.terminate()  # raises InterfaceError if asyncpg already took a dead one back
                await pool.release(conn, timeout=self.timeout_s)
            except RESET_ERRORS as exc:
                # asyncpg closes a connection it could not reset (a store that hung while it was
                # out) and the pool makes a new one later; the request it served is already answered.
                log.info("dropped a PostgreSQL connection that could not be reset: %s", type(exc).__name__)

    async def _reset_before_release(self, conn: PooledConnection) -> None:
        """End the borrower's transaction and reset the session in one round trip.

        asyncpg would otherwise send a ROLLBACK and then its reset query, two round
        trips; the pool's own reset (`_reset_session`) then finds nothing to do.
        """
        try:
            if conn.is_closed() or self.circuit.is_open:
                return
            pid = conn.get_server_pid()
        except asyncpg.InterfaceError:
            return  # asyncpg already took a connection the server closed back
        try:
            with timed("postgres"):
                await self.circuit.call(conn.execute(reset_statement(conn), timeout=self.timeout_s))
        except asyncpg.PostgresError as exc:
            _discarding(exc)
            conn.terminate()
            return
        except RELEASE_ERRORS:
            with contextlib.suppress(asyncpg.InterfaceError):
                conn.terminate()
            return
        self._reset_done.add(pid)

    async def _reset_session(self, conn: asyncpg.Connection[asyncpg.Record]) -> None:
        """The pools' reset: nothing when `_reset_before_release` did it, the same reset otherwise."""
        pid = conn.get_server_pid()
        if pid in self._reset_done:
            self._reset_done.discard(pid)
            return
        try:
            await conn.execute(reset_statement(conn))
        except asyncpg.PostgresError as exc:
            _discarding(exc)
            raise  # asyncpg closes the connection

    def pool_stats(self) -> tuple[int, int, int]:
        """(open, idle, max) connections of the request pool, for metrics."""
        if self.pool is None:
            return 0, 0, self.max_size
        return self.pool.get_size(), self.pool.get_idle_size(), self.pool.get_max_size()

    def reader(self, organization_id: UUID) -> TenantReader:
        return TenantReader(self, organization_id)

    async def enter(
        self, tenant: TenantConnection, enterprise_id: str | None, *, read_only: bool, begin: bool = True
    ) -> None:
        """Begin `tenant`'s transaction in its organization's signed tenancy.

        The claim travels as a bound parameter: statement texts are visible to every
        session of the login in `pg_stat_activity`. A read only begins here (unless
        `begin` is false: its one statement is then a transaction of its own) and its
        first statement enters the tenancy (`TenantConnection.claim`); a write enters
        here, its first statements being writes. A claim that does not verify means
        the key changed (re-read once) or the database lost it: that fails loudly, as
        an unavailable store, rather than showing the tenant no rows at all.
        """
        key = await self.keys.current()
        if begin:
            await tenant.execute(BEGIN_READ if read_only else BEGIN_WRITE)
        pid = tenant.conn.get_server_pid()
        if read_only:
            tenant.key, tenant.claim = key, key.claim(tenant.organization_id, enterprise_id, pid)
            return
        for attempt in range(2):
            if await tenant.fetchval(ENTER, key.claim(tenant.organization_id, enterprise_id, pid)):
                tenant.key = key
                return
            if attempt == 0:
                key = await self.keys.reload(key)
        _refused_loudly()

    async def refused(self, tenant: TenantConnection, attempt: int) -> None:
        """After `tenant`'s first statement found its claim refused: read the key again once, then fail loudly."""
        if attempt == 0:
            await self.keys.reload(tenant.key)
        else:
            _refused_loudly()

    @asynccontextmanager
    async def tenant_transaction(
        self, organization_id: UUID, enterprise_id: str | None = None
    ) -> AsyncIterator[TenantConnection]:
        """A read-write transaction scoped to one organization, for mutations."""
        conn = await self.acquire()
        tenant: TenantConnection | None = None
        try:
            tenant = TenantConnection(conn, organization_id, asyncio.Lock(), self.circuit)
            await self.enter(tenant, enterprise_id, read_only=False)
            # On an error the release rolls back, with its reset, in one round trip.
            yield tenant
            await tenant.execute("COMMIT")
        finally:
            if tenant is not None:
                tenant.released = True
            await self.release(conn)

    @asynccontextmanager
    async def system(self) -> AsyncIterator[PooledConnection]:
        """A connection of the system login, in no organization, for cross-tenant system work.

        Row-level security shows that login no tenant rows at all: it can only call
        the SECURITY DEFINER functions made for this work (organization directory,
        audit outbox, the fence key), which the request login may not.
        """
        if self.system_pool is None:
            log.error("no system login: DATABASE_SYSTEM_URL is not configured")
            raise StoreUnavailable("postgres")
        self.circuit.check()
        began = time.monotonic()
        conn = await self._take(self.system_pool, began)
        try:
            yield conn
        finally:
            await self._give_back(self.system_pool, conn)

    async def _read_fence_key(self) -> bytes:
        try:
            async with self.system() as conn:
                secret = await conn.fetchval("SELECT public.fence_key()")
        except (asyncpg.UndefinedFunctionError, asyncpg.InsufficientPrivilegeError) as exc:
            log.error(
                "cannot read the fence key as DATABASE_SYSTEM_URL's login (%s): run `omnify-gateway migrate` "
                "with DATABASE_SYSTEM_URL set, which creates the key and that login",
                exc,
            )
            raise StoreUnavailable("postgres") from exc
        if secret is None:
            log.error("no fence key is stored: run `omnify-gateway migrate`")
            raise StoreUnavailable("postgres")
        return bytes(secret)


def _refused_loudly() -> NoReturn:
    log.error(
        "PostgreSQL refused the gateway's tenancy claim: the fence key read through DATABASE_SYSTEM_URL "
        "(fence_key()) is not the one fence_verify() uses; run `omnify-gateway migrate`"
    )
    raise StoreUnavailable("postgres")


def _discarding(exc: asyncpg.PostgresError) -> None:
    if exc.sqlstate == TAMPERED:
        log.error("discarded a PostgreSQL connection whose session was tampered with: %s", exc)
    else:
        log.info("dropped a PostgreSQL connection that could not be reset: %s", exc)
