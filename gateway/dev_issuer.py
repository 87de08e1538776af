"""The dev-mode OIDC issuer: a signing key in the data dir, served as discovery + JWKS.

The auth layer fetches these documents over HTTP like any other issuer's;
nothing in validation knows this issuer is special. It exists only in dev.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from gateway.seed import seed_email, seed_subject

AUDIENCE = "omnify-gateway"
PATH = "/dev-issuer"


@dataclass
class DevIssuer:
    key: ECKey
    issuer: str

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
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["ES256"],
                    "code_challenge_methods_supported": ["S256"],
                }
            )

        async def jwks(request: Request) -> JSONResponse:
            return JSONResponse({"keys": [self.key.as_dict(private=False)]})

        return [
            Route(f"{PATH}/.well-known/openid-configuration", discovery),
            Route(f"{PATH}/jwks.json", jwks),
        ]
