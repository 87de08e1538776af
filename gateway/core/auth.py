"""Bearer-token authentication against configured OIDC issuers.

Keys come from each issuer's discovery document and JWKS, fetched over HTTP
and cached; an unknown `kid` triggers a refresh, but at most once per
`jwks_min_refresh_interval_s`, so a flood of forged `kid`s cannot turn the
gateway into a JWKS hammer. Only asymmetric algorithms are accepted unless an
issuer explicitly enables HS256 with its own secret (Supabase Auth).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey

from gateway.core.claims import ClaimProblem, check_claims, claim_at, media_type_problem
from gateway.core.config import IssuerConfig, Settings
from gateway.core.permissions import permissions_of
from gateway.core.principal import Principal as Principal  # callers take it from here, as before
from gateway.core.tenancy import OrgDirectory, OrgRef
from gateway.errors import StoreUnavailable

log = logging.getLogger("omnify.auth")

KNOWN_ROLES = ("owner", "admin", "marketer", "analyst", "viewer")
# The gateway role of an enterprise account's role, for a member whose token has no role claim at all
# (e.g. someone who joined by accepting an invitation and whose identity provider assigns no roles).
ROLE_OF_ENTERPRISE_ROLE = {"owner": "owner", "admin": "admin", "analyst": "analyst", "member": "viewer"}
# An invitee belongs to no organization yet. Its requests are scoped to an organization id that no
# document carries, and its only permission (accepting an invitation) reads nothing through that scope.
NO_ORGANIZATION = OrgRef(enterprise_id="0" * 24, brain_id=None, slug="", name="")


class AuthError(Exception):
    """The token is not acceptable; becomes HTTP 401 with WWW-Authenticate."""


class AccessDenied(Exception):
    """The token is valid but names no organization the caller may use; becomes 403."""


def _b64json(segment: str) -> dict[str, Any]:
    padded = segment + "=" * (-len(segment) % 4)
    value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


@dataclass
class IssuerKeys:
    """Discovery + JWKS for one issuer, with TTL caching and rate-limited refresh."""

    config: IssuerConfig
    http: httpx.AsyncClient
    ttl_s: float
    min_refresh_s: float
    keys: KeySet | None = None
    fetched_at: float = 0.0
    last_attempt: float = float("-inf")
    fetches: int = 0
    jwks_uri: str | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def _kids(self) -> set[str]:
        return {k.kid for k in self.keys.keys if k.kid} if self.keys else set()

    async def key_set(self, kid: str | None) -> KeySet:
        now = time.monotonic()
        stale = self.keys is None or now - self.fetched_at > self.ttl_s
        unknown = kid is not None and kid not in self._kids()
        if stale or unknown:
            async with self._lock:
                now = time.monotonic()
                if (
                    self.keys is None
                    or now - self.fetched_at > self.ttl_s
                    or (kid is not None and kid not in self._kids())
                ) and (
                    now - self.last_attempt >= self.min_refresh_s
                    or (self.keys is None and now - self.last_attempt >= 1.0)
                ):
                    await self._refresh()
        if self.keys is None:
            raise AuthError("the token issuer's signing keys are unavailable")
        return self.keys

    async def _refresh(self) -> None:
        self.last_attempt = time.monotonic()
        try:
            if self.jwks_uri is None:
                response = await self.http.get(f"{self.config.issuer}/.well-known/openid-configuration")
                response.raise_for_status()
                discovery = response.json()
                if discovery.get("issuer", "").rstrip("/") != self.config.issuer:
                    log.error("discovery document of %s names issuer %r", self.config.issuer, discovery.get("issuer"))
                    return
                self.jwks_uri = str(discovery["jwks_uri"])
            response = await self.http.get(self.jwks_uri)
            response.raise_for_status()
            self.fetches += 1
            data = response.json()
            # Keep only signature keys of allowed kinds; a JWKS may also hold encryption keys.
            usable = [
                k for k in data.get("keys", []) if k.get("use", "sig") == "sig" and k.get("kty") in ("RSA", "EC", "OKP")
            ]
            self.keys = KeySet.import_key_set({"keys": usable})
            self.fetched_at = time.monotonic()
        except (httpx.HTTPError, ValueError, KeyError, JoseError) as exc:
            # Keep serving with cached keys; the next attempt is rate-limited.
            log.warning("could not refresh keys of %s: %s", self.config.issuer, exc)


@dataclass
class TokenVerifier:
    settings: Settings
    http: httpx.AsyncClient
    issuers: dict[str, IssuerKeys] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for config in self.settings.issuers:
            self.issuers[config.issuer] = IssuerKeys(
                config, self.http, self.settings.jwks_cache_ttl_s, self.settings.jwks_min_refresh_interval_s
            )

    async def verify(self, token: str) -> tuple[IssuerConfig, dict[str, Any]]:
        if len(token) > self.settings.max_token_bytes:
            raise AuthError("token is too large")
        parts = token.split(".")
        if len(parts) != 3:
            raise AuthError("token is not a compact JWS")
        try:
            header = _b64json(parts[0])
            unverified = _b64json(parts[1])
        except (ValueError, RecursionError):  # UnicodeDecodeError and binascii.Error are ValueErrors
            raise AuthError("token is malformed") from None
        issuer_name = unverified.get("iss")
        if not isinstance(issuer_name, str) or issuer_name.rstrip("/") not in self.issuers:
            raise AuthError("token issuer is not trusted")
        keys = self.issuers[issuer_name.rstrip("/")]
        config = keys.config
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in config.algorithms:
            raise AuthError("token algorithm is not allowed")  # never echo token content into headers
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise AuthError("token kid is malformed")
        typ_problem = media_type_problem(header, config.typ)
        if typ_problem is not None:
            raise AuthError(f"token is malformed: {typ_problem}")
        key: Any
        if alg == "HS256":
            assert config.hs256_secret is not None
            key = OctKey.import_key(config.hs256_secret)
        else:
            key = await keys.key_set(kid)
            if kid is not None and kid not in keys._kids():
                raise AuthError("token was signed by an unknown key")
        try:
            decoded = jwt.decode(token, key, algorithms=[alg])
            # Signed, so now worth reading: every claim the gateway uses is checked as data first.
            check_claims(
                decoded.claims,
                config,
                self.settings.max_token_lifetime_s,
                self.settings.clock_leeway_s,
            )
            registry = jwt.JWTClaimsRegistry(
                leeway=self.settings.clock_leeway_s,
                iss={"essential": True, "value": issuer_name},
                aud={"essential": True, "value": config.audience},
                exp={"essential": True},
                sub={"essential": True},
            )
            registry.validate(decoded.claims)
        except JoseError as exc:
            raise AuthError(_describe(exc)) from None
        except ClaimProblem as exc:
            raise AuthError(f"token is malformed: {exc}") from None
        except (ValueError, TypeError, ArithmeticError, RecursionError):
            raise AuthError("token is malformed") from None
        return config, dict(decoded.claims)


def _describe(exc: JoseError) -> str:
    name = type(exc).__name__
    return {
        "ExpiredTokenError": "token has expired",
        "InvalidTokenError": "token is not valid yet",
        "BadSignatureError": "token signature is invalid",
    }.get(name, f"token rejected: {exc.error}" if getattr(exc, "error", None) else "token rejected")


@dataclass
class Authenticator:
    verifier: TokenVerifier
    directory: OrgDirectory

    async def authenticate(self, token: str) -> Principal:
        config, claims = await self.verifier.verify(token)
        subject = str(claims["sub"])
        # Client-credentials tokens are issued to a client, not a person.
        # Auth0 marks them with `gty`; Okta and Auth0 set `sub` to the client; Keycloak
        # service accounts carry `client_id` (their `sub` is the service-account user).
        partner = claims.get("gty") == "client-credentials" or "client_id" in claims or subject == claims.get("azp")
        organization = await self._organization(config, claims, subject, partner)
        kind: Literal["user", "partner", "invitee"] = (
            "partner" if partner else "invitee" if organization is None else "user"
        )
        roles_value = claim_at(claims, config.roles_claim)
        roles = frozenset(
            r for r in (roles_value if isinstance(roles_value, list) else [roles_value]) if r in KNOWN_ROLES
        )
        if kind == "user" and roles_value is None:  # no role claim at all; unknown roles stay refused
            roles = await self._enterprise_roles(subject)
        scopes_value = claim_at(claims, config.scopes_claim)
        scopes = scopes_value.split() if isinstance(scopes_value, str) else scopes_value
        principal = Principal(
            subject=subject,
            issuer=config.issuer,
            kind=kind,
            organization=organization or NO_ORGANIZATION,
            roles=roles if kind == "user" else frozenset(),
            scopes=frozenset(str(s) for s in scopes) if isinstance(scopes, list) else frozenset(),
            email=claims.get("email") if isinstance(claims.get("email"), str) else None,
            email_verified=claims.get("email_verified") if isinstance(claims.get("email_verified"), bool) else None,
        )
        if not permissions_of(principal):
            raise AccessDenied("the token grants no role or scope this gateway knows")
        return principal

    async def _enterprise_roles(self, subject: str) -> frozenset[str]:
        """The gateway roles of the subject's enterprise account; none when MongoDB cannot say."""
        try:
            user = await self.directory.mongo.find_user_by_subject(subject)
        except StoreUnavailable:
            return frozenset()
        stored = (user or {}).get("roles") or []
        return frozenset(ROLE_OF_ENTERPRISE_ROLE[r] for r in stored if r in ROLE_OF_ENTERPRISE_ROLE)

    async def _organization(
        self, config: IssuerConfig, claims: dict[str, Any], subject: str, partner: bool
    ) -> OrgRef | None:
        """The organization from the configured claim, else from the subject's membership.

        A person must be a member of the organization the token names: a token
        for org A carrying the subject of a user of org B is refused. A person
        who is a member nowhere and whose token names no organization is an
        invitee (None): they may accept an invitation, nothing else.
        """
        claimed = claim_at(claims, config.org_claim)
        member_of = None if partner else await self.directory.organization_of_subject(subject)
        if isinstance(claimed, str) and claimed:
            organization = await self.directory.resolve(claimed)
            if organization is None:
                raise AccessDenied("the token names no organization known to this gateway")
            if not partner and member_of != organization.slug:
                raise AccessDenied("the token's subject is not a member of its organization")
            return organization
        if partner:
            raise AccessDenied("the token names no organization and its subject is not a known member")
        if member_of is None:
            return None
        organization = await self.directory.resolve(member_of)
        if organization is None:
            raise AccessDenied("the subject's organization is not known to this gateway")
        return organization
