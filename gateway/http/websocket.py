"""GraphQL subscriptions over WebSocket: the `graphql-transport-ws` protocol on `/graphql`.

One `SocketSession` per connection. The client authenticates in
`connection_init` (a bearer token in `{"Authorization": "Bearer …"}`, or the
GraphiQL session cookie with the page's CSRF token), then runs subscriptions
through the same schema, limits and permission checks as HTTP requests.

Everything the server sends goes through one bounded queue drained by one
task, so a client that reads slower than its events arrive is closed (1013)
instead of making the gateway hold an ever-growing backlog. The socket is
closed with 4401 the moment its token expires, without waiting for a message.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
import uuid
from typing import Any

import orjson
from graphql import GraphQLError
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from gateway.core.auth import AccessDenied, AuthError, Principal
from gateway.core.context import RequestContext
from gateway.core.metrics import Metrics
from gateway.core.realtime import current_connection
from gateway.errors import GatewayError
from gateway.http.auth import Authentication
from gateway.http.login import CsrfRejected
from gateway.http.view import GraphQLView
from gateway.http.ws_hub import SocketHub, SubscribeBucket
from gateway.http.ws_protocol import (
    BAD_MESSAGE,
    DUPLICATE_ID,
    FORBIDDEN,
    INIT_TIMEOUT,
    INTERNAL_ERROR,
    POLICY_VIOLATION,
    PROTOCOL,
    TOO_MANY_INITS,
    TRY_AGAIN_LATER,
    UNAUTHORIZED,
    ProtocolViolation,
    Subscribe,
    complete_id,
    error,
    read_message,
    read_subscribe,
)

log = logging.getLogger("omnify.websocket")

_CLOSE = object()


def _expiry(token: str) -> float | None:
    """The `exp` of a token the authenticator has already verified."""
    try:
        segment = token.split(".")[1]
        claims = orjson.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        return float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        return None


class GraphQLWebSocket:
    """ASGI app for WebSocket requests to `/graphql`."""

    def __init__(self, auth: Authentication, view: GraphQLView, hub: SocketHub, metrics: Metrics) -> None:
        self.auth = auth
        self.view = view
        self.hub = hub
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        if PROTOCOL not in scope.get("subprotocols", []) or self.hub.closing:
            # Refused at the handshake (HTTP 403): other protocols are not spoken here.
            await websocket.close(code=POLICY_VIOLATION)
            return
        await websocket.accept(subprotocol=PROTOCOL)
        address = str((scope.get("client") or ("unknown",))[0])
        refusal = self.hub.admit_unauthenticated(address)
        if refusal is not None:
            # Accepted only to be closed with a code a browser client can read (a refused
            # handshake reaches it as a bare 1006); graphql-ws retries 1013 with backoff.
            await websocket.close(code=TRY_AGAIN_LATER, reason=refusal)
            return
        session = SocketSession(self, websocket, address)
        self.hub.sessions.add(session)
        self.metrics.ws_connections.inc()
        try:
            await session.run()
        finally:
            if session.principal is None:
                self.hub.authenticated(address)  # never did: no longer waiting either
            self.hub.sessions.discard(session)
            self.metrics.ws_connections.dec()


class SocketSession:
    """One connection: its protocol state, its subscriptions and its send queue."""

    def __init__(self, endpoint: GraphQLWebSocket, websocket: WebSocket, address: str) -> None:
        self.endpoint = endpoint
        self.metrics = endpoint.metrics
        self.settings = endpoint.auth.settings
        self.websocket = websocket
        self.address = address
        self.subscribe_bucket = SubscribeBucket(self.settings)
        self.outbox: asyncio.Queue[Any] = asyncio.Queue(self.settings.ws_send_queue)
        self.operations: dict[str, asyncio.Task[None]] = {}
        self.principal: Principal | None = None
        self.init_received = False
        self.close_code: int | None = None
        self.close_reason = ""
        self._closed = asyncio.Event()
        self._counted = False
        self._expiry: asyncio.Task[None] | None = None
        self.finished = asyncio.Event()

    # -- lifecycle ----------------------------------------------------------------------------

    async def run(self) -> None:
        sender = asyncio.create_task(self._send_loop(), name="ws-send")
        reader = asyncio.create_task(self._read_loop(), name="ws-read")
        timers = [
            asyncio.create_task(self._init_deadline(), name="ws-init-timeout"),
            asyncio.create_task(self._ping_loop(), name="ws-ping"),
        ]
        closed = asyncio.create_task(self._closed.wait())
        try:
            await asyncio.wait([reader, closed], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in [reader, closed, *timers, *self.operations.values()]:
                task.cancel()
            if self._expiry is not None:
                self._expiry.cancel()
            for task in list(self.operations.values()):
                with contextlib.suppress(BaseException):
                    await task
            self.operations.clear()
            if self.close_code is not None:
                # Let what is queued and the close frame go out, but never wait on a stuck client for long.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(sender), timeout=2.0)
            sender.cancel()
            with contextlib.suppress(BaseException):
                await sender
            if self.websocket.application_state != WebSocketState.DISCONNECTED:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.websocket.close(self.close_code or 1000, self.close_reason), 2.0)
            if self._counted and self.principal is not None:
                self.endpoint.hub.release_principal(self.principal)
            self.finished.set()

    def close(self, code: int, reason: str, *, drain: bool = False) -> None:
        """Close the socket with `code`, after the messages already waiting when `drain`, else at once."""
        if self.close_code is not None:
            return
        # A close frame's reason is at most 123 bytes.
        self.close_code, self.close_reason = code, reason.encode()[:120].decode(errors="ignore")
        if not drain or self.outbox.full():
            while not self.outbox.empty():
                self.outbox.get_nowait()
        self.outbox.put_nowait(_CLOSE)
        self._closed.set()

    def overflowed(self) -> None:
        self.close(TRY_AGAIN_LATER, "slow consumer: too many events waiting to be sent")

    def enqueue(self, message: dict[str, Any]) -> None:
        if self.close_code is not None:
            return
        try:
            self.outbox.put_nowait(message)
        except asyncio.QueueFull:
            self.metrics.events_dropped.labels("slow_consumer").inc()
            self.overflowed()

    async def _send_loop(self) -> None:
        try:
            while True:
                message = await self.outbox.get()
                if message is _CLOSE:
                    await self.websocket.close(self.close_code or 1000, self.close_reason)
                    return
                await self.websocket.send_text(orjson.dumps(message).decode())
                if message.get("type") == "next":
                    self.metrics.events_delivered.inc()
        except (WebSocketDisconnect, RuntimeError, OSError):
            # The client went away first; the read side ends the session.
            self._closed.set()

    async def _read_loop(self) -> None:
        try:
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                text = message.get("text")
                if text is None:
                    raise ProtocolViolation(BAD_MESSAGE, "messages are JSON text frames")
                await self._handle(text)
        except ProtocolViolation as violation:
            self.close(violation.code, violation.reason)
        except WebSocketDisconnect:
            return

    async def _init_deadline(self) -> None:
        await asyncio.sleep(self.settings.ws_init_timeout_s)
        if self.principal is None:
            self.close(INIT_TIMEOUT, "connection initialisation timeout")

    async def _ping_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.ws_ping_interval_s)
            self.enqueue({"type": "ping"})

    async def _expire_at(self, expires_at: float) -> None:
        await asyncio.sleep(max(0.0, expires_at - time.time()))
        self.close(UNAUTHORIZED, "the token has expired")

    # -- messages -----------------------------------------------------------------------------

    async def _handle(self, text: str) -> None:
        message = read_message(text)
        kind = message["type"]
        if kind == "connection_init":
            await self._connection_init(message.get("payload"))
        elif kind == "ping":
            pong: dict[str, Any] = {"type": "pong"}
            if isinstance(message.get("payload"), dict):
                pong["payload"] = message["payload"]
            self.enqueue(pong)
        elif kind == "pong":
            return
        elif kind == "subscribe":
            self._subscribe(message)
        elif kind == "complete":
            task = self.operations.pop(complete_id(message), None)
            if task is not None:
                task.cancel()
        else:
            raise ProtocolViolation(BAD_MESSAGE, f"invalid message received: unknown type {kind[:40]!r}")

    async def _connection_init(self, payload: object) -> None:
        if self.init_received:
            raise ProtocolViolation(TOO_MANY_INITS, "too many initialisation requests")
        self.init_received = True
        if payload is not None and not isinstance(payload, dict):
            raise ProtocolViolation(BAD_MESSAGE, "invalid message received: the payload must be an object")
        auth = self.endpoint.auth
        try:
            token = auth.credentials(self.websocket, payload or {})
        except CsrfRejected as exc:
            raise ProtocolViolation(FORBIDDEN, str(exc)[:120]) from None
        if token is None:
            raise ProtocolViolation(UNAUTHORIZED, "unauthorized: send a bearer token in Authorization")
        try:
            principal = await auth.principal(token)
        except AuthError as exc:
            raise ProtocolViolation(UNAUTHORIZED, f"unauthorized: {exc}"[:120]) from None
        except AccessDenied as exc:
            raise ProtocolViolation(FORBIDDEN, f"forbidden: {exc}"[:120]) from None
        except GatewayError as exc:
            raise ProtocolViolation(INTERNAL_ERROR, exc.message[:120]) from None
        expires_at = _expiry(token)
        # The HTTP side tolerates clock skew on `exp`; a socket lives on, so it ends at `exp` itself.
        if expires_at is None or expires_at <= time.time():
            raise ProtocolViolation(UNAUTHORIZED, "unauthorized: the token has expired")
        hub = self.endpoint.hub
        if not hub.admit_principal(principal):
            raise ProtocolViolation(
                POLICY_VIOLATION,
                f"too many connections: at most {self.settings.ws_max_connections_per_principal} per principal",
            )
        self._counted = True
        self.principal = principal
        hub.authenticated(self.address)
        self._expiry = asyncio.create_task(self._expire_at(expires_at), name="ws-expiry")
        self.enqueue({"type": "connection_ack"})

    def _subscribe(self, message: dict[str, Any]) -> None:
        if self.principal is None:
            raise ProtocolViolation(UNAUTHORIZED, "unauthorized: send connection_init first")
        subscribe = read_subscribe(message)
        operation_id = subscribe.id
        if operation_id in self.operations:
            raise ProtocolViolation(DUPLICATE_ID, f"subscriber for {operation_id[:60]} already exists")
        wait_s = self.subscribe_bucket.wait()
        if wait_s:
            self._refuse(
                operation_id,
                f"too many subscribe messages on this connection; retry after {wait_s} s",
                {"code": "RATE_LIMITED", "retryAfter": wait_s, "limit": "subscribe"},
            )
            return
        if len(self.operations) >= self.settings.ws_max_subscriptions:
            self._refuse(
                operation_id,
                f"at most {self.settings.ws_max_subscriptions} subscriptions per connection",
                {"code": "TOO_MANY_SUBSCRIPTIONS"},
            )
            return
        task = asyncio.create_task(
            self._operation(subscribe),
            name=f"ws-op-{operation_id}",
        )
        self.operations[operation_id] = task

    def _refuse(self, operation_id: str, message: str, extensions: dict[str, Any]) -> None:
        self.enqueue(error(operation_id, [{"message": message, "extensions": extensions}]))

    async def _operation(self, subscribe: Subscribe) -> None:
        assert self.principal is not None
        operation_id = subscribe.id
        context = self.endpoint.auth.context(self.principal, uuid.uuid4().hex)
        current_connection.set(self)
        metrics = self.metrics
        metrics.ws_subscriptions.inc()
        completed = True
        try:
            # The same document rules as over HTTP (a refusal is a GraphQLError, answered below); nothing is registered.
            resolved = await self.endpoint.view.persisted.resolve(
                subscribe.query, subscribe.document_id, subscribe.extensions, self.principal.kind
            )
            results = await self.endpoint.view.schema.subscribe(
                resolved.document,
                variable_values=subscribe.variables,
                context_value=context,
                operation_name=subscribe.operation_name,
                operation_extensions=subscribe.extensions,
            )
            async for result in results:
                if isinstance(result, PreExecutionError) or (result.data is None and result.errors):
                    self.enqueue(error(operation_id, self._errors(result, context)))
                    completed = False
                    break
                self.enqueue({"id": operation_id, "type": "next", "payload": self._payload(result, context)})
        except asyncio.CancelledError:
            completed = False  # the client completed it, or the socket is closing
            raise
        except GraphQLError as exc:
            # A document that does not parse: the caller's mistake, answered like any other.
            self.enqueue(error(operation_id, [self.endpoint.view.format_error(exc, context)]))
            completed = False
        except RecursionError:
            message = {"message": "the document is nested too deeply", "extensions": {"code": "BAD_USER_INPUT"}}
            self.enqueue(error(operation_id, [message]))
            completed = False
        except Exception:
            log.exception("subscription %s failed", operation_id)
            internal = {
                "message": f"internal error (request id {context.request_id})",
                "extensions": {"code": "INTERNAL", "requestId": context.request_id},
            }
            self.enqueue(error(operation_id, [internal]))
            completed = False
        finally:
            metrics.ws_subscriptions.dec()
            self.operations.pop(operation_id, None)
            await context.close()
        if completed:
            self.enqueue({"id": operation_id, "type": "complete"})

    def _errors(self, result: ExecutionResult, context: RequestContext) -> list[dict[str, Any]]:
        return [self.endpoint.view.format_error(e, context) for e in result.errors or []]

    def _payload(self, result: ExecutionResult, context: RequestContext) -> dict[str, Any]:
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = self._errors(result, context)
        return payload
