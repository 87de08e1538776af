"""GraphiQL login for people: OIDC authorization code + PKCE, an encrypted session cookie, CSRF checks.

A browser that opens `/graphql` without a session is sent to the issuer's
login. The callback trades the code for tokens (authlib's Starlette client),
validates the access token with the same `Authenticator` as bearer tokens, and
keeps it in the encrypted session cookie of gateway/http/session.py (HttpOnly,
SameSite=Lax, Secure on https), so the cookie does not reveal the token. Validity is checked again on every request, so an expired token
means a new login for the page and 401 for API calls.

The page (gateway/http/graphiql.py) shows who is logged in and a logout button.

A browser attaches cookies to requests that other sites trigger, so a
cookie-authenticated API request must prove it comes from the GraphiQL page:
it carries the session's CSRF token in the `X-CSRFToken` header (the GraphiQL
page sends its `csrftoken` cookie back in that header, and a custom
header cannot be added cross-site without a CORS preflight the gateway never
grants), and its `Origin` / `Sec-Fetch-Site`, when sent, must be the gateway's
own. Bearer requests need none of this.
"""

from __future__ import annotations

import html
import logging
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from authlib.integrations.starlette_client import OAuth, OAuthError  # type: ignore[import-untyped]
from joserfc.errors import JoseError
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.core.auth import AccessDenied, Authenticator, AuthError, Principal
from gateway.core.config import ConfigError, IssuerConfig, Settings, login_issuer, login_problems
from gateway.errors import GatewayError

log = logging.getLogger("omnify.login")

LOGIN_PATH = "/auth/login"
CALLBACK_PATH = "/auth/callback"
LOGOUT_PATH = "/auth/logout"
GRAPHQL_PATH = "/graphql"
SESSION_COOKIE = "omnify_session"
# Longer than any access token should live; the token's own `exp` is what ends a session.
SESSION_MAX_AGE_S = 12 * 3600
# The GraphiQL page reads this cookie and sends its value back in this header.
CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "x-csrftoken"
SCOPE = "openid profile email"
# Browsers drop cookies over ~4 KB; the session cookie holds the token encrypted and base64-encoded.
MAX_SESSION_TOKEN_CHARS = 2800

_TOKEN = "access_token"
_CSRF = "csrf"
_NEXT = "next"


class CsrfRejected(Exception):
    """A cookie-authenticated request that does not prove it comes from the gateway's own page."""


def dev_session_secret(data_dir: Path) -> str:
    """The dev session secret, made once and kept in the data dir so logins survive restarts."""
    path = data_dir / "session-secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # Created 0600 from the start: a signing secret should never be readable by others.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _local_path(candidate: str | None) -> str:
    # Only same-site paths: `next` must never turn the login into an open redirector.
    if candidate and candidate.startswith("/") and not candidate.startswith("//") and "\\" not in candidate:
        return candidate
    return GRAPHQL_PATH


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>",
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


def _failure(status: int, message: str) -> HTMLResponse:
    return _page(
        "Login failed",
        f"<p>{html.escape(message)}</p><p><a href='{LOGIN_PATH}'>Try again</a></p>",
        status,
    )


@dataclass
class BrowserLogin:
    settings: Settings
    issuer: IssuerConfig
    authenticator: Authenticator
    client: Any  # authlib's StarletteOAuth2App (untyped)

    @classmethod
    def configure(cls, settings: Settings, authenticator: Authenticator) -> BrowserLogin | None:
        """The login flow when an issuer has a client id (always in dev); None otherwise."""
        issuer = login_issuer(settings)
        if issuer is None:
            return None
        problems = login_problems(settings)
        if problems:
            raise ConfigError(problems)
        client = OAuth().register(
            name="omnify",
            client_id=issuer.client_id,
            client_secret=issuer.client_secret,
            server_metadata_url=f"{issuer.issuer}/.well-known/openid-configuration",
            client_kwargs={
                "scope": SCOPE,
                "code_challenge_method": "S256",
                # A public client (the dev one) proves itself with PKCE alone.
                "token_endpoint_auth_method": "client_secret_basic" if issuer.client_secret else "none",
                "timeout": 10.0,
            },
        )
        return cls(settings, issuer, authenticator, client)

    @property
    def public_url(self) -> str:
        return self.settings.public_url.rstrip("/")

    @property
    def origin(self) -> str:
        parsed = urlparse(self.public_url)
        return f"{parsed.scheme}://{parsed.netloc}"

    @property
    def secure(self) -> bool:
        return self.public_url.startswith("https://")

    def session_options(self) -> dict[str, Any]:
        """Arguments for `EncryptedSessions`, which encrypts the cookie with a key derived from the session secret."""
        return {
            "secret_key": self.settings.session_secret,
            "session_cookie": SESSION_COOKIE,
            "max_age": SESSION_MAX_AGE_S,
            "same_site": "lax",  # Lax, not Strict: the IdP's redirect back must carry the login state
            "https_only": self.secure,
        }

    def routes(self) -> list[BaseRoute]:
        return [
            Route(LOGIN_PATH, self._login),
            Route(CALLBACK_PATH, self._callback),
            Route(LOGOUT_PATH, self._logout, methods=["GET", "POST"]),
        ]

    # -- the GraphiQL page ----------------------------------------------------------------------

    async def graphiql(self, request: Request, render: Callable[[Request, Principal], Awaitable[Response]]) -> Response:
        """The IDE for a browser with a valid session, else the redirect that logs it in.

        Raises AccessDenied when the session's token names no organization (so
        logging in again would loop), like the API does.
        """
        if self.settings.dev and f"{request.url.scheme}://{request.url.netloc}" != self.origin:
            # The login state lives in a cookie of the host that started the flow; in dev send
            # `localhost` visitors to the printed URL first so the callback finds it.
            return RedirectResponse(f"{self.public_url}{_path_and_query(request)}", status_code=302)
        token = request.session.get(_TOKEN)
        if isinstance(token, str):
            try:
                principal = await self.authenticator.authenticate(token)
            except AuthError:
                # Typically expired: the page would only fail, so log in again instead.
                self._forget(request)
            else:
                page = await render(request, principal)
                page.set_cookie(
                    CSRF_COOKIE,
                    request.session.setdefault(_CSRF, secrets.token_urlsafe(32)),
                    path=GRAPHQL_PATH,
                    secure=self.secure,
                    httponly=False,  # the page's script must read it to send it back
                    samesite="strict",
                )
                page.headers["Cache-Control"] = "no-store"
                return page
        return await self._authorize(request, _path_and_query(request))

    # -- API requests ---------------------------------------------------------------------------

    def session_token(self, request: Request) -> str | None:
        """The session's access token for an API request, after the CSRF checks; None without one.

        Raises CsrfRejected when a session cookie came without proof of the gateway's own page.
        """
        token = request.session.get(_TOKEN)
        if not isinstance(token, str):
            return None
        self._check_csrf(request)
        return token

    def socket_session_token(self, connection: HTTPConnection, csrf_token: object) -> str | None:
        """The session's access token for a WebSocket, after its CSRF checks; None without a session.

        A browser lets any page open a WebSocket with our cookie and sends no custom
        headers on the handshake, so the proof is different from HTTP: the handshake's
        `Origin` must be the gateway's own, and the `connection_init` payload must carry
        the page's CSRF token. Raises CsrfRejected otherwise.
        """
        token = connection.session.get(_TOKEN)
        if not isinstance(token, str):
            return None
        origin = connection.headers.get("origin")
        if origin != self.origin:
            raise CsrfRejected(f"session-cookie sockets must come from {self.origin}, not {origin or 'no origin'}")
        expected = connection.session.get(_CSRF)
        if (
            not isinstance(expected, str)
            or not isinstance(csrf_token, str)
            or not secrets.compare_digest(csrf_token.encode("utf-8", "replace"), expected.encode("ascii"))
        ):
            raise CsrfRejected(
                "a socket authenticated by the session cookie must send the GraphiQL page's CSRF token "
                "in its connection_init payload (or use a bearer token)"
            )
        return token

    def _check_csrf(self, request: Request) -> None:
        expected = request.session.get(_CSRF)
        sent = request.headers.get(CSRF_HEADER, "")
        if not isinstance(expected, str) or not secrets.compare_digest(
            sent.encode("latin-1", "replace"), expected.encode("ascii")
        ):
            raise CsrfRejected(
                f"a request authenticated by the session cookie must carry the {CSRF_HEADER} header of the "
                "GraphiQL page (or use a bearer token)"
            )
        site = request.headers.get("sec-fetch-site")
        if site is not None and site != "same-origin":
            raise CsrfRejected(f"session-cookie requests must come from the gateway's own pages, not {site}")
        origin = request.headers.get("origin")
        if origin is not None and origin != self.origin:
            raise CsrfRejected(f"session-cookie requests must come from {self.origin}, not {origin}")

    # -- the flow ---------------------------------------------------------------------------------

    async def _authorize(self, request: Request, next_path: str) -> Response:
        request.session[_NEXT] = _local_path(next_path)
        try:
            response: Response = await self.client.authorize_redirect(request, f"{self.public_url}{CALLBACK_PATH}")
        except Exception:
            # Discovery failed: the network (httpx or httpx2, whichever authlib runs on) or a
            # document without an authorization endpoint. The browser gets a page, not a 500.
            log.exception("cannot start login at %s", self.issuer.issuer)
            return _failure(502, "the identity provider is unreachable; try again shortly")
        return response

    async def _login(self, request: Request) -> Response:
        return await self._authorize(request, request.query_params.get("next", GRAPHQL_PATH))

    async def _callback(self, request: Request) -> Response:
        next_path = _local_path(request.session.get(_NEXT))
        try:
            tokens = await self.client.authorize_access_token(request)
        except OAuthError as exc:
            # Covers a state that is not this browser's (replayed or forged callback) and every
            # refusal of the token endpoint: wrong, used or expired code, PKCE mismatch.
            return _failure(400, f"the identity provider refused the login ({exc.error}: {exc.description or '-'})")
        except JoseError as exc:
            return _failure(400, f"the identity provider's id_token is not valid ({exc.error})")
        except Exception:
            log.exception("token exchange with %s failed", self.issuer.issuer)
            return _failure(502, "the identity provider is unreachable; try again shortly")
        access_token = tokens.get("access_token")
        if not isinstance(access_token, str):
            return _failure(400, "the identity provider returned no access token")
        if len(access_token) > MAX_SESSION_TOKEN_CHARS:
            return _failure(400, "the access token is too large to keep in a session cookie")
        try:
            # The same validation as a bearer token: signature by fetched JWKS, iss, aud, exp, org.
            principal = await self.authenticator.authenticate(access_token)
        except AuthError as exc:
            return _failure(401, f"the access token was refused: {exc}")
        except AccessDenied as exc:
            return _failure(403, str(exc))
        except GatewayError as exc:  # a store is down, so the organization cannot be looked up
            return _failure(503, exc.message)
        # A fresh session (and CSRF token) for every login, replacing whatever the browser had.
        request.session.clear()
        request.session.update({_TOKEN: access_token, _CSRF: secrets.token_urlsafe(32)})
        log.info("browser login: %s in %s", principal.subject, principal.organization.slug)
        return RedirectResponse(f"{self.public_url}{next_path}", status_code=303)

    async def _logout(self, request: Request) -> Response:
        request.session.clear()
        response = _page("Logged out", f"<p><a href='{GRAPHQL_PATH}'>Log in again</a></p>")
        response.delete_cookie(CSRF_COOKIE, path=GRAPHQL_PATH)
        return response

    def _forget(self, request: Request) -> None:
        request.session.pop(_TOKEN, None)
        request.session.pop(_CSRF, None)


def _path_and_query(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")
