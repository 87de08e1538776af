"""What a resolver can reach during one request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gateway.core.admission import Admission
from gateway.core.auth import Principal
from gateway.core.config import Settings
from gateway.core.outbox import OutboxDispatcher
from gateway.core.permissions import Permission, require
from gateway.core.ratelimit import Decision, RateLimiter
from gateway.core.realtime import Realtime
from gateway.errors import StoreUnavailable
from gateway.stores.mongo import MongoStore, TenantMongo
from gateway.stores.postgres import PostgresStore, TenantReader
from gateway.stores.tracing import StoreTrace

# A per-request loader: an aiodataloader DataLoader, or a loader of its own kind (gateway.data.batches).
L = TypeVar("L")


@dataclass(frozen=True)
class Services:
    """The long-lived objects resolvers need beyond their tenant handles: a store to
    run a mutation's own transaction on, the outbox to wake once it commits, and
    the event bus that subscriptions listen on and mutations announce to.

    The HTTP layer builds it once; holding it here rather than the whole
    application keeps the schema free of imports from the layer above it.
    """

    postgres: PostgresStore
    mongo: MongoStore
    outbox: OutboxDispatcher
    realtime: Realtime
    # Fair share: rate limits charged and admission taken once the document's cost is known.
    limiter: RateLimiter | None = None
    admission: Admission | None = None


@dataclass
class RequestContext:
    principal: Principal
    settings: Settings
    _mongo: TenantMongo
    _postgres: TenantReader | None
    trace: StoreTrace
    request_id: str
    services: Services
    debug_stores: bool = False
    # Filled while the request runs, read for metrics afterwards.
    operation: str = "anonymous"
    outcome: str = "ok"
    wrote: bool = False  # a mutation committed: the response must reach the client, never be shed
    cost: int = 0  # the document's estimated cost, once validated
    rate: Decision | None = None  # this request's rate-limit charge, told in the RateLimit headers
    _loaders: dict[Callable[..., Any], Any] = field(default_factory=dict)

    # Reads are authorized per store: partners, for instance, see marketing
    # data they act on but none of the enterprise records.
    @property
    def mongo(self) -> TenantMongo:
        require(self.principal, Permission.READ_ENTERPRISE)
        return self._mongo

    @property
    def postgres(self) -> TenantReader:
        require(self.principal, Permission.READ_BRAIN)
        # An organization without a Brain link has no PostgreSQL data at all.
        if self._postgres is None:
            raise StoreUnavailable("postgres")
        return self._postgres

    def require(self, permission: Permission) -> None:
        require(self.principal, permission)

    @property
    def has_brain(self) -> bool:
        return self._postgres is not None

    def one_snapshot(self) -> None:
        """Every PostgreSQL read of this request in one snapshot (two executions compare their answers)."""
        if self._postgres is not None:
            self._postgres.shared = True

    def loader(self, factory: Callable[[RequestContext], L]) -> L:
        """The request's instance of a dataloader, created on first use."""
        existing: L | None = self._loaders.get(factory)
        if existing is None:
            existing = factory(self)
            self._loaders[factory] = existing
        return existing

    async def after_write(self) -> None:
        """Make later reads in this request see the write: a new snapshot, empty loader caches."""
        self.wrote = True
        self._loaders.clear()
        if self._postgres is not None:
            await self._postgres.refresh()

    async def close(self) -> None:
        # Each loader's batch function closes over this context, a reference
        # cycle: dropping the loaders here frees their cached rows at once
        # instead of at the garbage collector's next full collection.
        self._loaders.clear()
        if self._postgres is not None:
            await self._postgres.close()


def request_context(
    principal: Principal,
    settings: Settings,
    services: Services,
    request_id: str,
    trace: StoreTrace,
    *,
    debug_stores: bool = False,
) -> RequestContext:
    """The context of one request of `principal`: the handles of its organization's stores
    (none for PostgreSQL when the organization has no Brain link)."""
    org = principal.organization
    return RequestContext(
        principal=principal,
        settings=settings,
        _mongo=services.mongo.tenant(org.enterprise_id),
        _postgres=services.postgres.reader(org.brain_id) if org.brain_id else None,
        trace=trace,
        request_id=request_id,
        services=services,
        debug_stores=debug_stores,
    )
