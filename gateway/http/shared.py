"""The runtime objects every request handler shares, built once per process (below the app, the
GraphQL view and the WebSocket endpoint, which all hold it)."""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from gateway.core.admission import Admission
from gateway.core.auth import Authenticator, TokenVerifier
from gateway.core.config import Settings
from gateway.core.context import Services
from gateway.core.metrics import Metrics
from gateway.core.outbox import OutboxDispatcher
from gateway.core.persisted import PersistedQueries
from gateway.core.ratelimit import RateLimiter
from gateway.core.ratelimit_redis import SharedBuckets
from gateway.core.realtime import Realtime
from gateway.core.tenancy import OrgDirectory
from gateway.http.login import BrowserLogin
from gateway.stores.circuit import Circuit
from gateway.stores.mongo import MongoStore
from gateway.stores.postgres import PostgresStore


@dataclass
class Gateway:
    """Everything a request handler needs that outlives a request."""

    settings: Settings
    postgres: PostgresStore
    mongo: MongoStore
    http: httpx.AsyncClient
    directory: OrgDirectory
    authenticator: Authenticator
    outbox: OutboxDispatcher
    metrics: Metrics
    realtime: Realtime
    persisted: PersistedQueries  # where a request's document comes from when it sends a hash or an id
    login: BrowserLogin | None = None
    limiter: RateLimiter | None = None
    admission: Admission | None = None
    shared_limits: SharedBuckets | None = None  # the rate-limit buckets in Redis, when REDIS_URL is set
    started_at: float = field(default_factory=time.monotonic)
    draining: bool = False  # set when the server is told to stop: /readyz answers 503 from then on

    @functools.cached_property
    def services(self) -> Services:
        return Services(self.postgres, self.mongo, self.outbox, self.realtime, self.limiter, self.admission)

    @classmethod
    def build(cls, settings: Settings) -> Gateway:
        metrics = Metrics()
        postgres = PostgresStore(
            settings.database_url,
            settings.pg_pool_min,
            settings.pg_pool_max,
            settings.store_timeout_s,
            pool_wait_s=settings.pg_pool_wait_s or settings.request_timeout_s,
            pool_queue=settings.pg_pool_queue,
            on_wait=metrics.pool_wait.observe,
            system_url=settings.database_system_url,
            system_max_size=settings.pg_system_pool_max,
            statement_timeout_s=settings.request_timeout_s,
        )
        mongo = MongoStore(settings.mongo_url, settings.mongo_db, settings.store_timeout_s)
        http = httpx.AsyncClient(timeout=httpx.Timeout(5.0), follow_redirects=False)
        directory = OrgDirectory(mongo, postgres)
        authenticator = Authenticator(TokenVerifier(settings, http), directory)
        login = BrowserLogin.configure(settings, authenticator)
        realtime = Realtime(postgres, mongo, settings.database_system_url, metrics, settings.ws_send_queue)
        dispatcher = OutboxDispatcher(
            postgres,
            mongo,
            batch_size=settings.outbox_batch,
            on_delivered=metrics.audit_delivered.inc,
            on_batch=metrics.outbox_batches.inc,
        )
        metrics.watch_outbox(
            lambda: None if dispatcher.lag is None else (dispatcher.lag.pending, dispatcher.lag.oldest_s)
        )
        metrics.watch_pool(postgres.pool_stats)
        metrics.watch_circuits([postgres.circuit, mongo.circuit], lambda: postgres.waiting)
        limits = settings.rate_limits
        shared = (
            SharedBuckets(settings.redis_url, settings.redis_timeout_s)
            if settings.redis_url and limits.enabled
            else None
        )
        limiter = RateLimiter(limits, shared, on_refused=lambda limit: metrics.rate_limited.labels(limit).inc())
        admission = Admission(
            settings.admission_per_org,
            settings.admission_per_worker,
            settings.admission_queue,
            settings.admission_wait_s,
            on_wait=metrics.admission_wait.observe,
            on_refused=lambda reason: metrics.admission_refused.labels(reason).inc(),
        )
        metrics.watch_fair_share(
            lambda: (admission.in_flight, admission.waiting), lambda: None if shared is None else int(shared.up)
        )
        return cls(
            settings,
            postgres,
            mongo,
            http,
            directory,
            authenticator,
            dispatcher,
            metrics,
            realtime,
            PersistedQueries.configure(settings),
            login,
            limiter=limiter,
            admission=admission,
            shared_limits=shared,
        )

    async def start(self) -> None:
        await self.postgres.open()
        await self.mongo.open()
        self.outbox.start()
        self.realtime.start()

    async def stop(self) -> None:
        if self.shared_limits is not None:
            await self.shared_limits.close()
        await self.persisted.close()
        await self.realtime.stop()
        await self.outbox.stop()
        await self.mongo.close()
        await self.postgres.close()
        await self.http.aclose()

    async def readiness(self) -> dict[str, dict[str, Any]]:
        async def check(name: str, circuit: Circuit, ping: Any) -> tuple[str, dict[str, Any]]:
            if circuit.is_open:  # its probe is already watching; answer at once
                return name, {"ok": False, "circuit": "open", "error": circuit.last_error}
            started = time.perf_counter()
            try:
                await asyncio.wait_for(ping(), timeout=self.settings.store_timeout_s)
            except Exception as exc:  # any failure means "not ready"; the reason goes in the body
                return name, {"ok": False, "circuit": circuit.state, "error": f"{type(exc).__name__}: {exc}"[:300]}
            ms = round((time.perf_counter() - started) * 1000, 2)
            return name, {"ok": True, "circuit": circuit.state, "ms": ms}

        results = await asyncio.gather(
            check("postgres", self.postgres.circuit, self.postgres.probe),
            check("mongo", self.mongo.circuit, self.mongo.ping_once),
        )
        return dict(results)

    async def rate_limit_readiness(self) -> dict[str, Any]:
        """How rate limits are kept: never a reason to be unready, since in-process limits still hold."""
        if not self.settings.rate_limits.enabled:
            return {"configured": self.settings.redis_url is not None, "limits": "off"}
        if self.shared_limits is None:
            return {"configured": False, "limits": "in-process"}
        return {"configured": True, **await self.shared_limits.readiness()}
