"""The Starlette application: routes, lifespan, and the runtime objects they share."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.core.admission import Admission
from gateway.core.auth import Authenticator, TokenVerifier
from gateway.core.config import Settings
from gateway.core.context import Services
from gateway.core.logs import quiet_drivers
from gateway.core.metrics import Metrics
from gateway.core.outbox import OutboxDispatcher
from gateway.core.ratelimit import RateLimiter
from gateway.core.ratelimit_redis import SharedBuckets
from gateway.core.realtime import Realtime
from gateway.core.runtime import LoopWatchdog, gc_watch
from gateway.core.tenancy import OrgDirectory
from gateway.http import graphiql
from gateway.http.login import BrowserLogin
from gateway.http.protocol import BodyTooLarge
from gateway.http.session import EncryptedSessions
from gateway.http.view import AuthenticatedGraphQL, body_too_large
from gateway.http.websocket import GraphQLWebSocket, SocketHub
from gateway.stores.circuit import Circuit
from gateway.stores.mongo import MongoStore
from gateway.stores.postgres import PostgresStore

log = logging.getLogger("omnify.app")


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
        dispatcher = OutboxDispatcher(postgres, mongo, on_delivered=metrics.audit_delivered.inc)
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


class BodyLimit:
    """Refuse request bodies over the limit with 413, whether or not Content-Length is sent.

    A chunked body is counted as it is read: the reader gets `BodyTooLarge`, which the
    GraphQL endpoint answers itself; any other app that lets it escape is answered here.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for key, value in scope.get("headers", []):
            if key == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await body_too_large(self.max_bytes, scope)(scope, receive, send)
                return
        received = 0
        started = False

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, tracked)
        except BodyTooLarge:
            if not started:
                await body_too_large(self.max_bytes, scope)(scope, receive, send)


def create_app(
    settings: Settings,
    *,
    extra_routes: Sequence[BaseRoute] = (),
    on_stall: Callable[[int], object] | None = None,
) -> Starlette:
    """The application. `extra_routes` are served beside the gateway's own (`dev`: the dev issuer's);
    `on_stall` is what the loop watchdog calls past OMNIFY_LOOP_KILL_S (`serve`: exit)."""
    quiet_drivers()
    gateway = Gateway.build(settings)
    watchdog = LoopWatchdog(
        settings.loop_warn_s,
        settings.loop_kill_s,
        on_stall=on_stall,
        on_warn=gateway.metrics.loop_blocks.inc,
        on_block=gateway.metrics.loop_block_seconds.observe,
    )
    gateway.metrics.watch_loop(watchdog.lag_s)

    async def healthz(request: Request) -> JSONResponse:
        # Which worker process answered, how its garbage collector and its event loop fare (several
        # run behind one port). A loop blocked right now cannot answer at all: the probe times out.
        # One that was blocked past OMNIFY_LOOP_KILL_S and not replaced (no supervisor: `dev`)
        # answers 503 until it is restarted, since whatever blocked it may do so again.
        stalled = watchdog.stalled
        return JSONResponse(
            {
                "status": "stalled" if stalled else "ok",
                "uptimeSeconds": round(time.monotonic() - gateway.started_at, 1),
                "pid": os.getpid(),
                "requests": gateway.metrics.served,
                "gc": gc_watch.as_dict(),
                "loop": watchdog.as_dict(),
            },
            status_code=503 if stalled else 200,
        )

    async def readyz(request: Request) -> JSONResponse:
        if gateway.draining:  # a proxy should stop sending here before the worker stops listening
            return JSONResponse({"status": "draining"}, status_code=503)
        stores, redis = await asyncio.gather(gateway.readiness(), gateway.rate_limit_readiness())
        ready = all(s["ok"] for s in stores.values())
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "stores": stores, "redis": redis},
            status_code=200 if ready else 503,
        )

    async def index(request: Request) -> PlainTextResponse:
        return PlainTextResponse("Omnify Gateway: GraphQL at /graphql\n")

    graphql = AuthenticatedGraphQL(gateway)
    sockets = SocketHub(gateway)
    routes: list[BaseRoute] = [
        Route("/", index),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", gateway.metrics.endpoint),
        # Any method: the endpoint answers others with a JSON 405 itself.
        Route("/graphql", graphql),
        WebSocketRoute("/graphql", GraphQLWebSocket(gateway, graphql.view, sockets)),
    ]
    routes += graphiql.routes()
    routes += extra_routes
    if gateway.login is not None:
        routes += gateway.login.routes()

    async def begin_shutdown() -> None:
        """What the server calls first when it is told to stop (SIGTERM): turn unready, and close the
        WebSockets with 1001 (going away) so their clients reconnect elsewhere, letting them drain."""
        gateway.draining = True
        await sockets.shutdown(settings.ws_shutdown_drain_s)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await gateway.start()
        watchdog.start(asyncio.get_running_loop())
        gateway.metrics.start_sampling()
        try:
            yield
        finally:
            gateway.metrics.stop_sampling()
            watchdog.stop()
            await begin_shutdown()
            await gateway.stop()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.gateway = gateway
    app.state.sockets = sockets
    app.state.begin_shutdown = begin_shutdown
    if gateway.login is not None:
        app.add_middleware(EncryptedSessions, **gateway.login.session_options())
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app
