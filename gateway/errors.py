"""GraphQL errors with the `extensions.code` values of SPEC §5."""

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


class RateLimited(GatewayError):
    code = "RATE_LIMITED"


class QueryTooComplex(GatewayError):
    code = "QUERY_TOO_COMPLEX"
