"""GraphQL over HTTP: reading a request into its parameters and choosing the response media type.

The rules follow the GraphQL-over-HTTP specification: POST bodies are JSON objects
sent as `application/json`; GET carries the parameters in the query string and may
only run queries; the answer is `application/graphql-response+json` when the client
prefers it, else `application/json`. Every refusal is a `RequestProblem`, answered
as a JSON `errors` list with a code, never as plain text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.core.persisted import NO_CACHE, PersistedQueries, Resolved
from gateway.errors import PersistedQueryRefused

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
GET_PARAMETERS = frozenset({"query", "documentId", "operationName", "variables", "extensions"})


def encode_response(payload: object) -> bytes:
    """The one place GraphQL answers are serialised."""
    return orjson.dumps(payload)


# Every answer is one principal's: a shared cache (a CDN caching GET requests, a proxy) must
# never hand it to another, and a browser revalidates. Vary names what selects the principal.
PRIVATE = {"Cache-Control": "private, no-cache", "Vary": "Authorization, Cookie"}


def json_response(
    payload: object, status: int = 200, media_type: str = JSON, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        encode_response(payload),
        status_code=status,
        media_type=f"{media_type}; charset=utf-8",
        headers={**PRIVATE, **(headers or {})},
    )


class BodyTooLarge(Exception):
    """Raised while reading a request body that grew past the limit (a chunked body has no Content-Length)."""


@dataclass
class RequestProblem(Exception):
    """A request the GraphQL endpoint refuses before running anything."""

    status: int
    message: str
    code: str = "BAD_USER_INPUT"
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True)
class GraphQLParams:
    # The document, or none when the request names a persisted one (`documentId`, `extensions.persistedQuery`).
    query: str | None
    document_id: str | None
    operation_name: str | None
    variables: dict[str, Any] | None
    extensions: dict[str, Any] | None
    method: str


def response_media_type(accept: str | None) -> str:
    """The media type to answer with, from the Accept header (absent means `application/json`)."""
    if not accept or not accept.strip():
        return JSON
    best: tuple[float, int, str] | None = None
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        media = media.lower()
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        # Exact types beat wildcards at the same quality; wildcards mean plain JSON.
        if media == GRAPHQL_RESPONSE:
            candidate = (q, 2, GRAPHQL_RESPONSE)
        elif media == JSON:
            candidate = (q, 1, JSON)
        elif media in ("application/*", "*/*"):
            candidate = (q, 0, JSON)
        else:
            continue
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    if best is None:
        raise RequestProblem(406, f"cannot answer with any of {accept!r}; accepted: {GRAPHQL_RESPONSE}, {JSON}")
    return best[2]


async def read_params(request: Request) -> GraphQLParams:
    if request.method == "GET":
        query = _query_string(request.scope.get("query_string", b""))
        return _params(
            {
                "query": query.get("query"),
                "documentId": query.get("documentId"),
                "operationName": query.get("operationName"),
                "variables": _json_param(query.get("variables"), "variables"),
                "extensions": _json_param(query.get("extensions"), "extensions"),
            },
            "GET",
        )
    if request.method != "POST":
        raise RequestProblem(405, "use GET or POST", headers={"Allow": "GET, POST"})
    content_type = request.headers.get("content-type", "")
    media, *params = (p.strip().lower() for p in content_type.split(";"))
    if media != JSON:
        raise RequestProblem(415, f"a POST body must be {JSON}")
    for param in params:
        name, _, value = param.partition("=")
        if name == "charset" and value.strip('"') not in ("utf-8", "utf8"):
            raise RequestProblem(415, "a POST body must be UTF-8")
    body = await request.body()
    if not body:
        raise RequestProblem(400, "the request body is empty; send a JSON object with a `query`")
    try:
        # orjson rejects invalid UTF-8 and lone surrogates, and caps nesting well below the recursion limit.
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestProblem(400, f"the request body is not valid JSON: {exc}") from None
    if isinstance(decoded, list):
        raise RequestProblem(400, "batched requests (a JSON array) are not supported; send one JSON object")
    if not isinstance(decoded, dict):
        raise RequestProblem(400, "the request body must be a JSON object with a `query`")
    return _params(decoded, "POST")


def _query_string(raw: bytes) -> dict[str, str]:
    """The GET parameters, strictly: invalid UTF-8 is refused rather than read as U+FFFD (which
    would run something other than what was sent), and so is a parameter given twice (which one
    a proxy or cache in front reads is anyone's guess)."""
    try:
        pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeError:
        raise RequestProblem(400, "the query string is not valid UTF-8") from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params and name in GET_PARAMETERS:
            raise RequestProblem(400, f"the `{name}` parameter is given more than once")
        params[name] = value
    return params


def _json_param(raw: str | None, name: str) -> Any:
    if raw is None or raw == "":
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise RequestProblem(400, f"the `{name}` parameter is not valid JSON") from None


def _params(raw: Mapping[str, Any], method: str) -> GraphQLParams:
    query = raw.get("query")
    if query is not None and not isinstance(query, str):
        raise RequestProblem(400, "the `query` parameter must be a string")
    document_id = raw.get("documentId")
    if document_id is not None and not isinstance(document_id, str):
        raise RequestProblem(400, "the `documentId` parameter must be a string")
    operation_name = raw.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestProblem(400, "the `operationName` parameter must be a string")
    variables = raw.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise RequestProblem(400, "the `variables` parameter must be a JSON object")
    extensions = raw.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestProblem(400, "the `extensions` parameter must be a JSON object")
    return GraphQLParams(query, document_id, operation_name or None, variables, extensions, method)


async def resolve_document(params: GraphQLParams, persisted: PersistedQueries, kind: str, media_type: str) -> Resolved:
    """The document the request runs: sent, registered by hash (APQ), or trusted (by `documentId`)."""
    try:
        return await persisted.resolve(params.query, params.document_id, params.extensions, kind)
    except PersistedQueryRefused as exc:
        # A document the manifest lacks is a request error; the others carry their own status.
        status = exc.status or (400 if media_type == GRAPHQL_RESPONSE else 200)
        raise RequestProblem(status, exc.message, exc.code, headers={"Cache-Control": NO_CACHE}) from None
