"""An OIDC issuer for the tests, served over HTTP: discovery, JWKS, and token minting.

It can rotate keys, go down, and counts how often its JWKS is fetched, so the
gateway's real validation path is what the tests exercise.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from joserfc import jws, jwt
from joserfc.jwk import ECKey, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.servers import ServerThread

AUDIENCE = "omnify-gateway"


def new_key(kind: str = "EC") -> ECKey | RSAKey:
    params = {"kid": uuid.uuid4().hex[:12], "use": "sig"}
    if kind == "RSA":
        return RSAKey.generate_key(2048, parameters={**params, "alg": "RS256"})
    return ECKey.generate_key("P-256", parameters={**params, "alg": "ES256"})


@dataclass
class TestIssuer:
    __test__ = False  # not a test class, despite the name

    keys: list[ECKey | RSAKey] = field(default_factory=lambda: [new_key("EC"), new_key("RSA")])
    down: bool = False
    jwks_fetches: int = 0
    server: ServerThread | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def app(self) -> Starlette:
        async def discovery(request: Request) -> Response:
            if self.down:
                return Response(status_code=503)
            return JSONResponse(
                {
                    "issuer": self.url,
                    "jwks_uri": f"{self.url}/jwks.json",
                    "authorization_endpoint": f"{self.url}/authorize",
                    "token_endpoint": f"{self.url}/token",
                }
            )

        async def jwks(request: Request) -> Response:
            if self.down:
                return Response(status_code=503)
            self.jwks_fetches += 1
            return JSONResponse({"keys": [k.as_dict(private=False) for k in self.keys]})

        return Starlette(routes=[Route("/.well-known/openid-configuration", discovery), Route("/jwks.json", jwks)])

    def start(self) -> TestIssuer:
        self.server = ServerThread(self.app()).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.stop()

    def claims(self, tenant: str = "acme", as_role: str = "owner", **overrides: Any) -> dict[str, Any]:
        """Claims of the seeded user with `as_role` in `tenant`; keyword overrides win (None removes a claim)."""
        from gateway.ops.seed import seed_email, seed_subject

        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": seed_subject(tenant, as_role),
            "email": seed_email(tenant, as_role),
            "org": tenant,
            "roles": [as_role],
            "iat": now,
            "nbf": now,
            "exp": now + 600,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(
        self,
        tenant: str = "acme",
        as_role: str = "owner",
        *,
        key: ECKey | RSAKey | None = None,
        header: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> str:
        key = key or self.keys[0]
        alg = "ES256" if isinstance(key, ECKey) else "RS256"
        head = {"alg": alg, "kid": key.kid, "typ": "JWT", **(header or {})}
        return jwt.encode(head, self.claims(tenant, as_role, **overrides), key)

    def signed(self, payload: bytes, *, key: ECKey | RSAKey | None = None, header: dict[str, Any] | None = None) -> str:
        """A token signed over exactly these payload bytes: claims a JWT library would not write (NaN, lone
        surrogates as escapes, any nesting) are what a broken or hostile issuer can still sign."""
        key = key or self.keys[0]
        alg = "ES256" if isinstance(key, ECKey) else "RS256"
        head = {"alg": alg, "kid": key.kid, "typ": "JWT", **(header or {})}  # None leaves a header out
        return jws.serialize_compact({k: v for k, v in head.items() if v is not None}, payload, key, algorithms=[alg])

    def raw_token(self, tenant: str = "acme", as_role: str = "owner", **overrides: Any) -> str:
        """`token()` for claims `json.dumps` writes (ASCII escapes, NaN and Infinity as such) but JWT encoders refuse."""
        return self.signed(json.dumps(self.claims(tenant, as_role, **overrides)).encode())
