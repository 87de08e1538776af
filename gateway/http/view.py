"""The `/graphql` endpoint: authentication, then one GraphQL-over-HTTP request run through the schema."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from gateway.core import tracing
from gateway.core.auth import AccessDenied, AuthError, Principal
from gateway.core.config import Settings
from gateway.core.context import RequestContext
from gateway.core.logs import current_request_id
from gateway.core.metrics import Metrics
from gateway.core.persisted import PersistedQueries
from gateway.errors import GatewayError, RateLimited, StoreSaturated, server_fault
from gateway.http import graphiql
from gateway.http.auth import Authentication
from gateway.http.login import CsrfRejected
from gateway.http.protocol import (
    GRAPHQL_RESPONSE,
    BodyTooLarge,
    RequestProblem,
    json_response,
    read_params,
    resolve_document,
    response_media_type,
)
from gateway.stores.tracing import StoreTrace, current_trace

log = logging.getLogger("omnify.graphql")

DEBUG_HEADER = "x-omnify-debug"


def unauthenticated(description: str, request_id: str, *, token_sent: bool = True) -> Response:
    # RFC 6750 §3: no error code when the request carried no credentials at all.
    challenge = 'Bearer realm="omnify-gateway"'
    if token_sent:
        challenge += f', error="invalid_token", error_description="{description}"'
    return json_response(
        {"errors": [{"message": description, "extensions": {"code": "UNAUTHENTICATED", **_ids(request_id)}}]},
        401,
        headers={"WWW-Authenticate": challenge, "X-Request-ID": request_id},
    )


def error_response(
    status: int, code: str, message: str, request_id: str, headers: Mapping[str, str] | None = None
) -> Response:
    return json_response(
        {"errors": [{"message": message, "extensions": {"code": code, **_ids(request_id)}}]},
        status,
        headers={**(headers or {}), "X-Request-ID": request_id},
    )


def _ids(request_id: str) -> dict[str, str]:
    """What ties an error to the logs: the request id, and the trace id when tracing is on."""
    trace_id = tracing.current_trace_id()
    return {"requestId": request_id, "traceId": trace_id} if trace_id else {"requestId": request_id}


def too_large_message(max_bytes: int) -> str:
    return f"the request body is larger than {max_bytes} bytes"


def body_too_large(max_bytes: int, scope: Scope) -> Response:
    """413 from the body limit in front of every route, with a request id like every other refusal."""
    return error_response(413, "BAD_USER_INPUT", too_large_message(max_bytes), _request_id(scope))


class GraphQLView:
    """Runs one GraphQL-over-HTTP request through the schema and answers it."""

    def __init__(self, settings: Settings, persisted: PersistedQueries, *, can_log_out: bool) -> None:
        from resolvers.schema import Limits, build_schema

        self.schema = build_schema(Limits.from_settings(settings))
        self.settings = settings
        self.persisted = persisted
        self.can_log_out = can_log_out

    async def render_graphql_ide(self, request: Request, principal: Principal | None = None) -> Response:
        return graphiql.page(request, principal, public_url=self.settings.public_url, can_log_out=self.can_log_out)

    async def handle(self, request: Request, context: RequestContext) -> Response:
        media_type = response_media_type(request.headers.get("accept"))
        params = await read_params(request)
        resolved = await resolve_document(params, self.persisted, context.principal.kind, media_type)
        allowed = (OperationType.QUERY,) if params.method == "GET" else (OperationType.QUERY, OperationType.MUTATION)
        try:
            result = await self.schema.execute(
                resolved.document,
                variable_values=params.variables,
                context_value=context,
                operation_name=params.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=params.extensions,
            )
        except InvalidOperationTypeError as exc:
            if exc.operation_type == OperationType.SUBSCRIPTION:
                raise RequestProblem(
                    400, "subscriptions run over WebSocket (graphql-transport-ws) at this URL, not over HTTP"
                ) from None
            raise RequestProblem(
                405, "mutations are not allowed over GET; use POST", headers={"Allow": "POST"}
            ) from None
        except CannotGetOperationTypeError:
            raise RequestProblem(400, f"the document has no operation named {params.operation_name!r}") from None
        # Nothing after execution reads a store: hand the PostgreSQL connection back before
        # the answer is encoded and sent, so a slow client never holds a pooled connection.
        await context.close()
        payload, request_error = self.process_result(result, context)
        if resolved.register and not request_error:  # parsed, validated, within the limits: worth keeping
            await self.persisted.register(resolved.register, resolved.document)
        # A request error (nothing ran): 400 for clients that tell it apart by media type, 200 for `application/json`.
        status = 400 if request_error and media_type == GRAPHQL_RESPONSE else 200
        return json_response(payload, status, media_type)

    def process_result(self, result: ExecutionResult, context: RequestContext) -> tuple[dict[str, Any], bool]:
        """The response body, and whether it is a request error (the operation never ran)."""
        if result.errors and not context.wrote:
            whole = next((w for w in map(_refused_whole, result.errors) if w is not None), None)
            if whole is not None:
                raise whole  # answered whole by `_handle`: 503 or 429, with Retry-After
        payload: dict[str, Any] = {}
        request_error = result.data is None and bool(result.errors) and all(not e.path for e in result.errors or [])
        if not request_error:
            payload["data"] = result.data
        if result.errors:
            errors = [self.format_error(e, context) for e in result.errors]
            payload["errors"] = errors
            context.outcome = str(errors[0]["extensions"].get("code", "INTERNAL")).lower()
        extensions = dict(result.extensions or {})
        if context.debug_stores:
            extensions["stores"] = context.trace.as_dict()
        if extensions:
            payload["extensions"] = extensions
        return payload, request_error

    def format_error(self, error: GraphQLError, context: RequestContext | None) -> dict[str, Any]:
        formatted: dict[str, Any] = dict(error.formatted)
        extensions = dict(formatted.get("extensions") or {})
        original = error.original_error
        if isinstance(original, GatewayError):
            extensions.update(original.extensions or {})
        elif isinstance(original, RecursionError):
            formatted["message"] = "the document is nested too deeply"
            extensions["code"] = "BAD_USER_INPUT"
        elif original is None or not error.path:
            # Parse and validation errors (including a bad scalar literal, which
            # carries its ValueError), bad variables, and the limits: no field ran.
            extensions.setdefault("code", _validation_code(error.message))
        elif not server_fault(error):  # an argument value graphql-core refused while executing
            extensions.setdefault("code", "BAD_USER_INPUT")
        else:
            request_id = context.request_id if context else "-"
            extensions["code"] = "INTERNAL"  # logged with its traceback by the schema
            if not self.settings.dev:
                formatted["message"] = f"internal error (request id {request_id})"
        if context is not None:
            extensions.update(_ids(context.request_id))
        formatted["extensions"] = extensions
        return formatted


class AuthenticatedGraphQL:
    """ASGI app: 401 without a valid token, else run the GraphQL view with a request context."""

    def __init__(self, auth: Authentication, view: GraphQLView, metrics: Metrics) -> None:
        self.auth = auth
        self.settings = auth.settings
        self.limiter = auth.services.limiter
        self.view = view
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = _request_id(scope)
        token_reset = current_request_id.set(request_id)
        try:
            await self._handle(scope, receive, send, request_id)
        finally:
            current_request_id.reset(token_reset)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        if scope["type"] == "http":
            request = Request(scope)
            if graphiql.wanted(request):
                response = await self._graphiql(request, request_id)
                await response(scope, receive, send)
                return
        try:
            token = self.auth.credentials(Request(scope))
        except CsrfRejected as exc:
            await error_response(403, "FORBIDDEN", str(exc), request_id)(scope, receive, send)
            return
        if token is None:
            await unauthenticated("a bearer token is required", request_id, token_sent=False)(scope, receive, send)
            return
        try:
            principal = await self.auth.principal(token)
        except (AuthError, AccessDenied, GatewayError) as exc:
            await _refusal(exc, request_id)(scope, receive, send)
            return
        trace = StoreTrace()
        trace_reset = current_trace.set(trace)
        context = self.auth.context(
            principal, request_id, trace, debug_stores=self._debug_allowed(scope, principal.roles)
        )
        scope.setdefault("state", {})["omnify_context"] = context
        started = time.perf_counter()
        out = self._with_rate_limit(send, context)
        sent = _SentTracker(_with_request_id(out, request_id))
        try:
            self._refuse_if_blocked(context)
            async with asyncio.timeout(self.settings.request_timeout_s):
                response = await self.view.handle(Request(scope, receive), context)
            await response(scope, receive, sent)
        except RequestProblem as problem:
            context.outcome = problem.code.lower()
            log.info("refused request: %s %s", problem.status, problem.message[:200])
            await error_response(problem.status, problem.code, problem.message, request_id, problem.headers)(
                scope, receive, out
            )
        except BodyTooLarge:
            context.outcome = "bad_user_input"
            message = too_large_message(self.settings.max_body_bytes)
            await error_response(413, "BAD_USER_INPUT", message, request_id)(scope, receive, out)
        except TimeoutError:
            context.outcome = "timeout"
            if not sent.started:
                message = f"the request took longer than {self.settings.request_timeout_s:g} s and was stopped"
                await error_response(504, "INTERNAL", message, request_id)(scope, receive, out)
        except StoreSaturated as exc:
            context.outcome = "shed"
            if not sent.started:
                await _refused(exc, 503, exc.retry_after_s, request_id)(scope, receive, out)
        except RateLimited as exc:
            context.outcome = "rate_limited"
            if not sent.started:
                await _refused(exc, 429, exc.retry_after_s, request_id)(scope, receive, out)
        except RecursionError:
            context.outcome = "bad_user_input"
            if not sent.started:
                await error_response(400, "BAD_USER_INPUT", "the request is nested too deeply", request_id)(
                    scope, receive, out
                )
        except Exception:
            # Outside any resolver (e.g. while reading the request): still JSON, with the request id.
            log.exception("request failed")
            context.outcome = "internal"
            if not sent.started:
                await error_response(500, "INTERNAL", f"internal error (request id {request_id})", request_id)(
                    scope, receive, out
                )
        finally:
            current_trace.reset(trace_reset)
            self.metrics.observe(context.operation, context.outcome, time.perf_counter() - started, trace)
            await context.close()

    def _refuse_if_blocked(self, context: RequestContext) -> None:
        """Refuse at once, before the body is read, while the caller's bucket cannot pay even the base charge."""
        limiter = self.limiter
        blocked = limiter.blocked(context.principal) if limiter is not None else None
        if blocked is not None:
            context.rate = blocked
            whose = "your organization's" if blocked.scope == "organization" else "your"
            raise RateLimited(
                f"{whose} rate limit is exceeded; retry after {blocked.retry_after_s} s",
                blocked.retry_after_s,
                limit=blocked.scope,
            )

    def _with_rate_limit(self, send: Send, context: RequestContext) -> Send:
        """Adds the RateLimit headers to every response of an authenticated request.

        A request refused or failed before its cost was known (a body or document that is not
        valid, say) is charged here: the base, plus what analysing its document took (see
        `resolvers.common.checks.charge_analysis`); every request pays something.
        """
        limiter = self.limiter
        if limiter is None or not limiter.enabled:
            return send

        async def wrapped(message: Any) -> None:
            if message["type"] == "http.response.start":
                if context.rate is None:
                    # Not charged by FairShare: refused or failed before running; `cost` is then what
                    # analysing the document took (zero when it never got that far).
                    context.rate = await limiter.charge(context.principal, context.cost)
                if context.rate is not None:
                    added = [(k.lower().encode(), v.encode()) for k, v in context.rate.headers().items()]
                    message = {**message, "headers": [*message.get("headers", []), *added]}
            await send(message)

        return wrapped

    async def _graphiql(self, request: Request, request_id: str) -> Response:
        login = self.auth.login
        if login is None:
            return await self.view.render_graphql_ide(request)
        try:
            return await login.graphiql(request, self.view.render_graphql_ide)
        except (AccessDenied, GatewayError) as exc:
            return _refusal(exc, request_id)

    def _debug_allowed(self, scope: Scope, roles: frozenset[str]) -> bool:
        wanted = any(k == DEBUG_HEADER.encode() and b"stores" in v.lower() for k, v in scope.get("headers", []))
        return wanted and (self.settings.dev or bool(roles & {"owner", "admin"}))


def _refusal(exc: AuthError | AccessDenied | GatewayError, request_id: str) -> Response:
    if isinstance(exc, AuthError):
        return unauthenticated(str(exc), request_id)
    if isinstance(exc, AccessDenied):
        return error_response(403, "FORBIDDEN", str(exc), request_id)
    return error_response(503, str((exc.extensions or {}).get("code")), exc.message, request_id)


def _refused(exc: GatewayError, status: int, retry_after_s: int, request_id: str) -> Response:
    """The whole request refused (503 for load, 429 for a limit), in the GraphQL-over-HTTP error shape, to be retried."""
    return json_response(
        {"errors": [{"message": exc.message, "extensions": {**(exc.extensions or {}), "requestId": request_id}}]},
        status,
        headers={"Retry-After": str(retry_after_s), "X-Request-ID": request_id},
    )


def _refused_whole(error: GraphQLError) -> StoreSaturated | RateLimited | None:
    """The refusal that answers a whole request: a store shedding load, or a limit (raised before execution)."""
    for candidate in (error, error.original_error):
        if isinstance(candidate, StoreSaturated | RateLimited):
            return candidate
    return None


def _validation_code(message: str) -> str:
    # The document limits of resolvers/common (shape, budget, cost) carry their code; these
    # two come from graphql-core: the parser's token limit and its introspection depth rule.
    if ("more than" in message and "tokens" in message) or "introspection depth exceeded" in message:
        return "QUERY_TOO_COMPLEX"
    if "introspection has been disabled" in message:
        return "FORBIDDEN"
    return "BAD_USER_INPUT"


def _request_id(scope: Scope) -> str:
    for key, value in scope.get("headers", []):
        if key == b"x-request-id":
            candidate = str(value.decode("latin-1"))[:64]
            if candidate.replace("-", "").isalnum():
                return candidate
    return uuid.uuid4().hex


class _SentTracker:
    """Passes messages on and remembers whether the response has started."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: Any) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)


def _with_request_id(send: Send, request_id: str) -> Send:
    async def wrapped(message: Any) -> None:
        if message["type"] == "http.response.start":
            message = dict(message)
            message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
        await send(message)

    return wrapped
