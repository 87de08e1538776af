"""GraphQL errors and their `extensions.code` values: the one error-code vocabulary of the API."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError


class GatewayError(GraphQLError):
    code = "INTERNAL"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message, extensions={"code": self.code, **extensions})


class Unauthenticated(GatewayError):
    code = "UNAUTHENTICATED"


class Forbidden(GatewayError):
    code = "FORBIDDEN"


class BadUserInput(GatewayError):
    code = "BAD_USER_INPUT"


class NotFound(GatewayError):
    code = "NOT_FOUND"


class Conflict(GatewayError):
    code = "CONFLICT"


class StoreUnavailable(GatewayError):
    code = "STORE_UNAVAILABLE"

    def __init__(self, store: str) -> None:
        super().__init__(f"the {store} store is unavailable; try again shortly", store=store)


class StoreSaturated(StoreUnavailable):
    """The store is up but every connection is busy and the wait ran out (or the queue is full).

    The request is shed whole with HTTP 503 and `Retry-After`, unless it already wrote something.
    """

    retry_after_s = 1

    def __init__(self, store: str, why: str) -> None:
        GatewayError.__init__(
            self,
            f"the {store} store is busy ({why}); retry after {self.retry_after_s} s",
            store=store,
            retryAfter=self.retry_after_s,
        )


class RateLimited(GatewayError):
    """Over a rate limit, or over the organization's share of a server.

    Refused whole over HTTP with 429 and `Retry-After`; `extensions.retryAfter` says the same
    and `extensions.limit` which limit it was (`principal`, `organization`, `admission`).
    """

    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after_s: int, **extensions: Any) -> None:
        super().__init__(message, retryAfter=retry_after_s, **extensions)
        self.retry_after_s = retry_after_s


class QueryTooComplex(GatewayError):
    code = "QUERY_TOO_COMPLEX"


class PersistedQueryRefused(GatewayError):
    """A persisted query or trusted document the request names cannot run; nothing executes.

    `code` is one of PERSISTED_QUERY_NOT_FOUND and PERSISTED_QUERY_NOT_SUPPORTED (HTTP 200, what
    Apollo's persisted-query link expects), PERSISTED_QUERY_HASH_MISMATCH and
    PERSISTED_QUERY_VERSION_NOT_SUPPORTED (400), PERSISTED_DOCUMENT_NOT_FOUND and
    PERSISTED_DOCUMENT_NOT_SUPPORTED (request errors: 200 for `application/json`, 400 for
    `application/graphql-response+json`), PERSISTED_DOCUMENT_REQUIRED (403).
    """

    def __init__(self, code: str, message: str, status: int | None) -> None:
        self.code = code
        super().__init__(message)
        self.status = status


def server_fault(error: GraphQLError) -> bool:
    """Whether a field failed through no fault of the caller: an unexpected exception in a
    resolver, or a result its type cannot represent (an Int past 32 bits). graphql-core raises
    the latter as a GraphQLError without a location, unlike its refusals of argument values."""
    original = error.original_error
    if not error.path or original is None or isinstance(original, GatewayError | RecursionError):
        return False
    if isinstance(original, GraphQLError):
        return not original.nodes
    return True
