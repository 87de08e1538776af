"""A request's hold on PostgreSQL: one connection inside one tenant-scoped transaction.

`TenantConnection` serialises the statements of one transaction (asyncpg runs one at a
time per connection); `TenantReader` is a request's read snapshot, opened on first use
and reopened after a failed statement or a write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

import asyncpg

from gateway.errors import StoreSaturated, StoreUnavailable
from gateway.stores.circuit import Circuit
from gateway.stores.fence import FenceKey
from gateway.stores.tracing import timed

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    PooledConnection = PoolConnectionProxy[asyncpg.Record]

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

RELEASE_ERRORS: tuple[type[BaseException], ...] = (StoreUnavailable, *UNAVAILABLE_ERRORS)
RESET_ERRORS: tuple[type[BaseException], ...] = (TimeoutError, asyncpg.PostgresError, *UNAVAILABLE_ERRORS)


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
    # The fence key this transaction's tenancy was signed with (also what seals its bus notices).
    key: FenceKey | None = None

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


class ConnectionSource(Protocol):
    """What a reader takes from its store (gateway.stores.postgres.PostgresStore, which builds the
    readers and so sits above this module)."""

    circuit: Circuit

    async def acquire(self) -> PooledConnection: ...

    async def enter(self, tenant: TenantConnection, enterprise_id: str | None, *, read_only: bool) -> None: ...

    async def release(self, conn: PooledConnection) -> None: ...


@dataclass
class TenantReader:
    """Request-scoped reads: one connection and one read-only snapshot per request.

    The connection is taken on first use, so a request that never touches
    PostgreSQL costs it nothing, and released by `close()` at request end.
    """

    store: ConnectionSource
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
                    await self.store.enter(tenant, None, read_only=True)
                except BaseException as exc:
                    # Including cancellation (a request timeout): never keep a connection we do not track.
                    tenant.released = True
                    await self.store.release(conn)
                    if isinstance(exc, RELEASE_ERRORS):
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


async def _release(store: ConnectionSource, tenant: TenantConnection) -> None:
    # Under the lock: a statement still running finishes first. The release ends the
    # snapshot (ROLLBACK) together with the session reset, in one round trip.
    async with tenant.lock:
        tenant.released = True
        await store.release(tenant.conn)
