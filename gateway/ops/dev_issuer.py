"""The dev-mode OIDC issuer: a signing key in the data dir, served as discovery + JWKS.

The auth layer fetches these documents over HTTP like any other issuer's;
nothing in validation knows this issuer is special. It exists only in dev.

For GraphiQL login it also plays the identity provider's part of the
authorization-code flow with PKCE: `/authorize` shows a form to pick an
organization and a role (there are no passwords in dev), and `/token` trades
the one-time code for tokens after checking the PKCE verifier.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse

from joserfc import jwt
from joserfc.jwk import ECKey
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.ops.seed import DEMO_ORGS, ROLES, seed_email, seed_subject

AUDIENCE = "omnify-gateway"
PATH = "/dev-issuer"
# The one client the dev issuer knows: GraphiQL login, a public client (PKCE, no secret).
DEV_CLIENT_ID = "omnify-graphiql"
CODE_TTL_S = 60
ORGS = tuple(slug for slug, *_ in DEMO_ORGS)
# What /authorize must carry through the login form to the code it issues.
AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
)


class InvalidRequest(Exception):
    """An authorization or token request the dev issuer refuses (RFC 6749 §4.1.2.1, §5.2)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class _Grant:
    """What a one-time code stands for: who logged in, and what the token request must prove."""

    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    org: str
    role: str
    expires_at: float


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


@dataclass
class DevIssuer:
    key: ECKey
    issuer: str
    login_ttl_s: int = 3600
    _codes: dict[str, _Grant] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, data_dir: Path, issuer: str | None = None) -> DevIssuer:
        directory = data_dir / "dev-issuer"
        directory.mkdir(parents=True, exist_ok=True)
        key_file = directory / "signing-key.json"
        if key_file.exists():
            key = ECKey.import_key(json.loads(key_file.read_text()))
        else:
            key = ECKey.generate_key("P-256", parameters={"alg": "ES256", "use": "sig"})
            key.ensure_kid()
            key_file.write_text(json.dumps(key.as_dict(private=True)))
            key_file.chmod(0o600)
        meta = directory / "issuer.json"
        if issuer is not None:
            meta.write_text(json.dumps({"issuer": issuer}))
        elif meta.exists():
            issuer = str(json.loads(meta.read_text())["issuer"])
        else:
            issuer = f"http://127.0.0.1:8000{PATH}"
        return cls(key, issuer)

    def mint(
        self,
        *,
        org: str,
        role: str,
        sub: str | None = None,
        ttl: int = 3600,
        extra: dict[str, Any] | None = None,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": sub or seed_subject(org, role),
            "email": seed_email(org, role),
            "org": org,
            "roles": [role],
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
        }
        claims.update(extra or {})
        claims = {k: v for k, v in claims.items() if v is not None}  # None in `extra` drops a claim
        return jwt.encode({"alg": "ES256", "kid": self.key.kid, "typ": "JWT"}, claims, self.key)

    def routes(self) -> list[BaseRoute]:
        async def discovery(request: Request) -> JSONResponse:
            return JSONResponse(
                {
                    "issuer": self.issuer,
                    "jwks_uri": f"{self.issuer}/jwks.json",
                    "authorization_endpoint": f"{self.issuer}/authorize",
                    "token_endpoint": f"{self.issuer}/token",
                    "response_types_supported": ["code"],
                    "grant_types_supported": ["authorization_code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["ES256"],
                    "code_challenge_methods_supported": ["S256"],
                    "token_endpoint_auth_methods_supported": ["none"],
                    "scopes_supported": ["openid", "profile", "email"],
                }
            )

        async def jwks(request: Request) -> JSONResponse:
            return JSONResponse({"keys": [self.key.as_dict(private=False)]})

        return [
            Route(f"{PATH}/.well-known/openid-configuration", discovery),
            Route(f"{PATH}/jwks.json", jwks),
            Route(f"{PATH}/authorize", self._authorize, methods=["GET", "POST"]),
            Route(f"{PATH}/token", self._token, methods=["POST"]),
        ]

    # -- authorization endpoint ------------------------------------------------------------------

    async def _authorize(self, request: Request) -> Response:
        if request.method == "GET":
            params = {k: request.query_params.get(k, "") for k in AUTHORIZE_PARAMS}
        else:
            form = await _form(request)
            params = {k: form.get(k, "") for k in (*AUTHORIZE_PARAMS, "org", "role")}
        try:
            self._check_authorize(params)
        except InvalidRequest as exc:
            # Never redirect to an unchecked redirect_uri: show the error instead (RFC 6749 §4.1.2.1).
            return HTMLResponse(_error_page(exc), status_code=400)
        if request.method == "GET":
            return HTMLResponse(_login_form(f"{self.issuer}/authorize", params), headers={"Cache-Control": "no-store"})
        if params["org"] not in ORGS or params["role"] not in ROLES:
            return HTMLResponse(_error_page(InvalidRequest("access_denied", "unknown organization or role")), 400)
        code = self._issue_code(params)
        query = urlencode({"code": code, "state": params["state"], "iss": self.issuer})
        # 303: the browser must follow a form POST with a GET to the client's callback.
        return RedirectResponse(f"{params['redirect_uri']}?{query}", status_code=303)

    def _check_authorize(self, params: dict[str, str]) -> None:
        if params["client_id"] != DEV_CLIENT_ID:
            raise InvalidRequest("unauthorized_client", f"unknown client_id {params['client_id']!r}")
        if not self._redirect_allowed(params["redirect_uri"]):
            raise InvalidRequest("invalid_request", "redirect_uri must be on the gateway that serves this issuer")
        if params["response_type"] != "code":
            raise InvalidRequest("unsupported_response_type", "only response_type=code is supported")
        if params["code_challenge_method"] != "S256" or not params["code_challenge"]:
            raise InvalidRequest("invalid_request", "PKCE is required: code_challenge with code_challenge_method=S256")
        if not params["state"]:
            raise InvalidRequest("invalid_request", "state is required")

    def _redirect_allowed(self, redirect_uri: str) -> bool:
        # The dev client is the gateway itself, so its callback shares the issuer's origin;
        # anything else would make this endpoint an open redirector.
        target, own = urlparse(redirect_uri), urlparse(self.issuer)
        return (target.scheme, target.netloc) == (own.scheme, own.netloc) and not target.query

    def _issue_code(self, params: dict[str, str]) -> str:
        now = time.monotonic()
        for stale in [c for c, g in self._codes.items() if g.expires_at < now]:
            del self._codes[stale]
        code = secrets.token_urlsafe(32)
        self._codes[code] = _Grant(
            client_id=params["client_id"],
            redirect_uri=params["redirect_uri"],
            code_challenge=params["code_challenge"],
            nonce=params["nonce"] or None,
            org=params["org"],
            role=params["role"],
            expires_at=now + CODE_TTL_S,
        )
        return code

    # -- token endpoint --------------------------------------------------------------------------

    async def _token(self, request: Request) -> JSONResponse:
        try:
            grant = self._redeem(await _form(request))
        except InvalidRequest as exc:
            return JSONResponse(
                {"error": exc.error, "error_description": exc.description},
                status_code=400,
                headers={"Cache-Control": "no-store"},
            )
        return JSONResponse(self._tokens(grant), headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _redeem(self, params: dict[str, str]) -> _Grant:
        if params.get("grant_type") != "authorization_code":
            raise InvalidRequest("unsupported_grant_type", "only grant_type=authorization_code is supported")
        # Popped before any check: a code is spent by its first use, even a failed one, so a
        # stolen code cannot be retried against different verifiers.
        grant = self._codes.pop(params.get("code", ""), None)
        if grant is None or grant.expires_at < time.monotonic():
            raise InvalidRequest("invalid_grant", "the code is unknown, expired or already used")
        if params.get("client_id") != grant.client_id:
            raise InvalidRequest("invalid_grant", "the code was issued to another client")
        if params.get("redirect_uri") != grant.redirect_uri:
            raise InvalidRequest("invalid_grant", "redirect_uri differs from the authorization request")
        verifier = params.get("code_verifier", "")
        if not 43 <= len(verifier) <= 128 or not secrets.compare_digest(s256(verifier), grant.code_challenge):
            raise InvalidRequest("invalid_grant", "code_verifier does not match the code_challenge")
        return grant

    def _tokens(self, grant: _Grant) -> dict[str, Any]:
        access_token = self.mint(org=grant.org, role=grant.role, ttl=self.login_ttl_s)
        tokens: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": self.login_ttl_s,
            "scope": "openid profile email",
        }
        if grant.nonce is not None:
            # An OIDC client validates the id_token against its own client id and nonce.
            tokens["id_token"] = self.mint(
                org=grant.org,
                role=grant.role,
                ttl=self.login_ttl_s,
                extra={"aud": grant.client_id, "nonce": grant.nonce, "azp": grant.client_id},
            )
        return tokens


async def _form(request: Request) -> dict[str, str]:
    """A URL-encoded form body (all OAuth and the login form send); parsed here so that
    Starlette's multipart dependency is not needed for it."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return {}
    body = (await request.body()).decode("utf-8", "replace")
    return dict(parse_qsl(body, keep_blank_values=True))


def _login_form(action: str, params: dict[str, str]) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(params[name])}">' for name in AUTHORIZE_PARAMS
    )
    orgs = "".join(f'<option value="{slug}">{slug}</option>' for slug in ORGS)
    roles = "".join(
        f'<option value="{role}"{" selected" if role == "analyst" else ""}>{role}</option>' for role in ROLES
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Omnify dev login</title>
<style>body{{font:16px system-ui,sans-serif;margin:4em auto;max-width:22em}}label,select,button{{display:block;margin:.4em 0}}</style>
</head><body>
<h1>Omnify dev login</h1>
<p>Dev mode has no passwords: pick who you are.</p>
<form method="post" action="{html.escape(action)}">{hidden}
<label for="org">Organization</label><select id="org" name="org">{orgs}</select>
<label for="role">Role</label><select id="role" name="role">{roles}</select>
<button type="submit">Log in</button>
</form></body></html>
"""


def _error_page(exc: InvalidRequest) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Login refused</title></head><body>"
        f"<h1>Login refused</h1><p>{html.escape(exc.error)}: {html.escape(exc.description)}</p></body></html>"
    )
