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
from gateway.stores.fence import ENTER_CHECKED, REFUSED, ClaimRefused, FenceKey, entering
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
    # The signed claim the first statement enters the tenancy with (see `entering`), until one did.
    claim: str | None = None
    # The claim did not verify: the transaction is lost, every statement of it refused alike.
    refused: bool = False

    def _check(self) -> None:
        if self.refused:  # before `released`: a sibling statement retries on a new transaction too
            raise ClaimRefused
        if self.released:
            raise StoreUnavailable("postgres")

    async def _entered(self) -> None:
        """Enter the tenancy on its own, for a first statement that cannot carry it (under the lock)."""
        if self.claim is not None:
            await self._call(self.conn.fetchval(ENTER_CHECKED, self.claim))
            self.claim = None

    async def _call(self, call: Any) -> Any:
        try:
            with timed("postgres"):
                return await self.circuit.call(call)
        except asyncpg.PostgresError as exc:
            if exc.sqlstate == REFUSED:
                self.refused = True
                raise ClaimRefused from exc
            raise

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self.lock:
            self._check()
            if self.claim is not None:
                wrapped = entering(sql, len(args))
                if wrapped is not None:
                    rows = list(await self._call(self.conn.fetch(wrapped, *args, self.claim)))
                    self.claim = None
                    return rows
                await self._entered()
            return list(await self._call(self.conn.fetch(sql, *args)))

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        async with self.lock:
            self._check()
            await self._entered()
            return await self._call(self.conn.fetchrow(sql, *args))  # type: ignore[no-any-return]

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self.lock:
            self._check()
            await self._entered()
            return await self._call(self.conn.fetchval(sql, *args))

    async def execute(self, sql: str, *args: Any) -> str:
        async with self.lock:
            self._check()
            await self._entered()
            return str(await self._call(self.conn.execute(sql, *args)))

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        async with self.lock:
            self._check()
            await self._entered()
            await self._call(self.conn.executemany(sql, rows))


class ConnectionSource(Protocol):
    """What a reader takes from its store (gateway.stores.postgres.PostgresStore, which builds the
    readers and so sits above this module)."""

    circuit: Circuit

    async def acquire(self) -> PooledConnection: ...

    async def enter(
        self, tenant: TenantConnection, enterprise_id: str | None, *, read_only: bool, begin: bool = True
    ) -> None: ...

    async def refused(self, tenant: TenantConnection, attempt: int) -> None: ...

    async def release(self, conn: PooledConnection) -> None: ...


@dataclass
class TenantReader:
    """Request-scoped reads: one connection and one read-only snapshot per request.

    The connection is taken on first use, so a request that never touches
    PostgreSQL costs it nothing, and released by `close()` at request end. The
    first statement enters the tenancy itself (one round trip for both).
    """

    store: ConnectionSource
    organization_id: UUID
    _tenant: TenantConnection | None = None
    _opening: asyncio.Lock = field(default_factory=asyncio.Lock)
    _broken: bool = False
    # Another execution of the request reads after this one and must see the same rows (the
    # executors' compare mode): no statement runs alone.
    shared: bool = False

    async def _open(self, *, begin: bool) -> TenantConnection:
        """A connection with the tenancy's claim ready for its first statement (under `_opening`)."""
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
            await self.store.enter(tenant, None, read_only=True, begin=begin)
        except BaseException as exc:
            # Including cancellation (a request timeout): never keep a connection we do not track.
            tenant.released = True
            await self.store.release(conn)
            if isinstance(exc, RELEASE_ERRORS):
                self._broken = True
                if not isinstance(exc, StoreUnavailable):
                    raise StoreUnavailable("postgres") from exc
            raise
        return tenant

    async def _connection(self) -> TenantConnection:
        if self._tenant is not None:
            return self._tenant
        async with self._opening:
            if self._tenant is None:
                self._tenant = await self._open(begin=True)
        return self._tenant

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        for attempt in range(2):
            tenant = await self._connection()
            try:
                return await tenant.fetch(sql, *args)
            except ClaimRefused:
                await self._drop(tenant)
                await self.store.refused(tenant, attempt)  # the key read again, or StoreUnavailable
            except UNAVAILABLE_ERRORS as exc:
                raise StoreUnavailable("postgres") from exc
            except asyncpg.PostgresError:
                # A failed statement aborts the transaction; start a fresh one so the
                # request's other fields still resolve, and let this field fail alone.
                await self._drop(tenant)
                raise
        raise AssertionError("unreachable: the second refusal raises")

    async def fetch_alone(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """`sql` as the request's only PostgreSQL read: the caller reads no other statement's rows
        in this response, or drops these.

        With no snapshot open yet there is nothing to be consistent with: the statement enters
        the tenancy and reads in one round trip, in a transaction of its own that ends with it,
        and the connection goes straight back (no transaction left to end). A later statement
        opens a snapshot as usual.
        """
        if self.shared or entering(sql, len(args)) is None:
            return await self.fetch(sql, *args)
        for attempt in range(2):
            async with self._opening:
                if self._tenant is not None:
                    break
                tenant = await self._open(begin=False)
                try:
                    return await tenant.fetch(sql, *args)
                except ClaimRefused:
                    pass
                except UNAVAILABLE_ERRORS as exc:
                    raise StoreUnavailable("postgres") from exc
                finally:
                    await _release(self.store, tenant)
            await self.store.refused(tenant, attempt)
        return await self.fetch(sql, *args)

    async def refresh(self) -> None:
        """End the current snapshot; the next read opens a new one (after a write)."""
        async with self._opening:
            tenant, self._tenant = self._tenant, None
        if tenant is not None:
            await _release(self.store, tenant)

    async def _drop(self, tenant: TenantConnection) -> None:
        """End `tenant`'s failed snapshot, not one a sibling statement opened since."""
        async with self._opening:
            if self._tenant is tenant:
                self._tenant = None
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
        if not tenant.released:  # by a sibling statement that failed on it too
            tenant.released = True
            await store.release(tenant.conn)
