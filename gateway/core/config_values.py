"""The issuers and rate limits the settings hold (gateway.core.config reads them from the environment)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

ALLOWED_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")


@dataclass(frozen=True)
class IssuerConfig:
    """One trusted OIDC issuer and how to read its tokens."""

    issuer: str
    audience: str
    # Claim paths are dotted (`realm_access.roles`); a path may name a URL-like
    # claim such as Auth0's namespaced `https://omnify.io/roles` as a whole.
    org_claim: str = "org"
    roles_claim: str = "roles"
    scopes_claim: str = "scope"
    algorithms: tuple[str, ...] = ALLOWED_ALGORITHMS
    # HS256 is only for Supabase Auth projects that still sign with a shared secret.
    hs256_secret: str | None = None
    # Browser login (GraphiQL) through this issuer needs a registered client.
    client_id: str | None = None
    client_secret: str | None = None
    # The `typ` header the issuer puts on its access tokens (RFC 9068: `at+jwt`); when set, tokens
    # without it (an ID token, a logout token of the same issuer) are refused. None: not checked.
    typ: str | None = None


@dataclass(frozen=True)
class Bucket:
    """A token bucket: `burst` points at most, refilled at `per_second` points per second."""

    burst: int
    per_second: float


RATE_LIMIT_ROLES = ("owner", "admin", "marketer", "analyst", "viewer")


def _default_roles() -> Mapping[str, Bucket]:
    members = Bucket(60_000, 2_000.0)
    return {
        "owner": members,
        "admin": members,
        "marketer": members,
        "analyst": members,
        "viewer": Bucket(30_000, 1_000.0),
    }


@dataclass(frozen=True)
class RateLimits:
    """Cost-based rate limits: each request is charged `base` points plus its estimated cost,
    to the bucket of its principal (by role, or as a partner or invitee) and to its organization's."""

    enabled: bool = True
    base: int = 10
    roles: Mapping[str, Bucket] = field(default_factory=_default_roles)
    partner: Bucket = Bucket(100_000, 5_000.0)
    invitee: Bucket = Bucket(1_000, 20.0)
    organization: Bucket = Bucket(300_000, 10_000.0)
