"""Who calls, for both transports: the credentials a request or a socket presents, the principal
they name, and the request context that principal gets.

HTTP reads the token from the request, a WebSocket from its `connection_init` message (a
browser cannot give a handshake headers), so each transport calls these at its own moment
and answers a refusal in its own way (a 401/403 response, a 4401/4403 close); what a token
is, and what a principal may reach, is decided here once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import HTTPConnection, Request

from gateway.core.auth import Authenticator, Principal
from gateway.core.config import Settings
from gateway.core.context import RequestContext, Services, request_context
from gateway.http.graphiql import CSRF_PAYLOAD_KEY
from gateway.http.login import BrowserLogin
from gateway.stores.tracing import StoreTrace


def bearer(value: object) -> str | None:
    """The token of an `Authorization` value `Bearer <token>` (any case); None for anything else."""
    if not isinstance(value, str):
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@dataclass(frozen=True)
class Authentication:
    """What both transports use to admit a caller and to give it a request context."""

    settings: Settings
    authenticator: Authenticator
    services: Services
    login: BrowserLogin | None = None

    def credentials(self, connection: HTTPConnection, init: Mapping[str, Any] | None = None) -> str | None:
        """The token the caller presents; None when it presents none.

        A bearer token wins: the request's `Authorization` header, or for a socket the
        `Authorization` of its `connection_init` payload (`init`). Otherwise the GraphiQL
        session cookie, with the proof that the gateway's own page sent it: the CSRF header
        on a request; the gateway's `Origin` and the page's CSRF token in `init` on a socket.
        Raises `CsrfRejected` for a session cookie without that proof.
        """
        if init is None:
            token = next(filter(None, map(bearer, connection.headers.getlist("authorization"))), None)
        else:
            token = bearer(init.get("Authorization") or init.get("authorization"))
        if token is not None or self.login is None:
            return token
        if init is None:
            return self.login.session_token(Request(connection.scope))
        return self.login.socket_session_token(connection, init.get(CSRF_PAYLOAD_KEY))

    async def principal(self, token: str) -> Principal:
        """Who the token names (raises `AuthError`, `AccessDenied`, or a `GatewayError` when a store is down)."""
        return await self.authenticator.authenticate(token)

    def context(
        self, principal: Principal, request_id: str, trace: StoreTrace | None = None, *, debug_stores: bool = False
    ) -> RequestContext:
        """The context of one request (one subscription on a socket) of `principal`."""
        return request_context(
            principal, self.settings, self.services, request_id, trace or StoreTrace(), debug_stores=debug_stores
        )
