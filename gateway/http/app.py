"""The Starlette application: routes and lifespan (the runtime objects they share are in shared.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.core import tracing
from gateway.core.config import Settings
from gateway.core.logs import quiet_drivers
from gateway.core.runtime import LoopWatchdog, gc_watch
from gateway.http import graphiql
from gateway.http.auth import Authentication
from gateway.http.protocol import BodyTooLarge
from gateway.http.session import EncryptedSessions
from gateway.http.shared import Gateway
from gateway.http.tracing import TracedRequests
from gateway.http.view import AuthenticatedGraphQL, GraphQLView, body_too_large
from gateway.http.websocket import GraphQLWebSocket
from gateway.http.ws_hub import SocketHub

log = logging.getLogger("omnify.app")

Probe = Callable[[Request], Awaitable[JSONResponse]]


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


def _graphql_endpoints(gateway: Gateway) -> tuple[AuthenticatedGraphQL, GraphQLWebSocket]:
    """`/graphql` over HTTP and over WebSocket: one schema, one way to authenticate a caller."""
    auth = Authentication(gateway.settings, gateway.authenticator, gateway.services, gateway.login)
    view = GraphQLView(gateway.settings, gateway.persisted, can_log_out=gateway.login is not None)
    sockets = SocketHub(gateway.settings)
    return AuthenticatedGraphQL(auth, view, gateway.metrics), GraphQLWebSocket(auth, view, sockets, gateway.metrics)


def _probes(gateway: Gateway, watchdog: LoopWatchdog) -> tuple[Probe, Probe]:
    """`/healthz` (this worker is alive, and how it fares) and `/readyz` (send it traffic?)."""

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
        stores, redis, persisted = await asyncio.gather(
            gateway.readiness(), gateway.rate_limit_readiness(), gateway.persisted.readiness()
        )
        ready = all(s["ok"] for s in stores.values())
        # Only the stores decide; the rest is detail.
        details = {"stores": stores, "redis": redis, "persisted": persisted, "outbox": gateway.outbox.readiness()}
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", **details},
            status_code=200 if ready else 503,
        )

    return healthz, readyz


def create_app(
    settings: Settings,
    *,
    extra_routes: Sequence[BaseRoute] = (),
    on_stall: Callable[[int], object] | None = None,
) -> Starlette:
    """The application. `extra_routes` are served beside the gateway's own (`dev`: the dev issuer's);
    `on_stall` is what the loop watchdog calls past OMNIFY_LOOP_KILL_S (`serve`: exit)."""
    quiet_drivers()
    # Before the store clients exist: PyMongo's command listener applies to clients made after it.
    stop_tracing = tracing.start() if not tracing.enabled() else None
    gateway = Gateway.build(settings)
    watchdog = LoopWatchdog(
        settings.loop_warn_s,
        settings.loop_kill_s,
        on_stall=on_stall,
        on_warn=gateway.metrics.loop_blocks.inc,
        on_block=gateway.metrics.loop_block_seconds.observe,
    )
    gateway.metrics.watch_loop(watchdog.lag_s)

    healthz, readyz = _probes(gateway, watchdog)

    async def index(request: Request) -> PlainTextResponse:
        return PlainTextResponse("Omnify Gateway: GraphQL at /graphql\n")

    graphql, websocket = _graphql_endpoints(gateway)
    sockets = websocket.hub
    routes: list[BaseRoute] = [
        Route("/", index),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", gateway.metrics.endpoint),
        # Any method: the endpoint answers others with a JSON 405 itself.
        Route("/graphql", TracedRequests(graphql)),
        WebSocketRoute("/graphql", websocket),
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
        if settings.secret_key is None:
            log.warning("OMNIFY_SECRET_KEY is not set: createCredential and rotateCredential answer NOT_CONFIGURED")
        watchdog.start(asyncio.get_running_loop())
        gateway.metrics.start_sampling()
        try:
            yield
        finally:
            gateway.metrics.stop_sampling()
            watchdog.stop()
            await begin_shutdown()
            await gateway.stop()
            if stop_tracing is not None:
                stop_tracing()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.gateway = gateway
    app.state.sockets = sockets
    app.state.begin_shutdown = begin_shutdown
    if gateway.login is not None:
        app.add_middleware(EncryptedSessions, **gateway.login.session_options())
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app
