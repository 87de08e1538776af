"""Settings, read once from the environment and validated before anything starts.

Every problem is collected and reported together, each naming the variable,
so an operator fixes a deployment in one pass instead of one error at a time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

Mode = Literal["dev", "production"]

ALLOWED_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
MIN_SESSION_SECRET_CHARS = 32


class ConfigError(Exception):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


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


EXECUTORS = ("planned", "standard", "compare")


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


@dataclass(frozen=True)
class Settings:
    mode: Mode
    mongo_url: str
    database_url: str
    issuers: tuple[IssuerConfig, ...]
    mongo_db: str = "omnify_cloud"
    # The system login: cross-tenant work (organization directory, audit outbox, event bus,
    # the fence key) on a small pool of its own. Required: the request login cannot do it.
    database_system_url: str = ""
    pg_system_pool_max: int = 4
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    data_dir: Path | None = None
    pg_pool_min: int = 1
    pg_pool_max: int = 20
    # Waiting for a pooled connection: None waits up to the request timeout.
    pg_pool_wait_s: float | None = None
    pg_pool_queue: int = 500
    store_timeout_s: float = 5.0
    request_timeout_s: float = 30.0
    max_body_bytes: int = 5_000_000
    max_token_bytes: int = 8192
    jwks_cache_ttl_s: float = 600.0
    jwks_min_refresh_interval_s: float = 30.0
    clock_leeway_s: int = 30
    # No token is accepted whose `exp` lies further ahead than this (nor whose `exp - iat` is longer).
    max_token_lifetime_s: float = 86_400.0
    log_level: str = "INFO"
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2500
    max_cost: int = 50_000
    # How read queries execute: planned (compiled plans), standard (graphql-core), compare (both, for tests).
    executor: str = "planned"
    # None: on in dev, off in production (schema shape is not public by default).
    introspection: bool | None = None
    session_secret: str = ""
    # Worker processes of `serve`, each with its own event loop and store pools.
    workers: int = 1
    # Subscriptions over WebSocket (graphql-transport-ws).
    ws_max_subscriptions: int = 20
    ws_max_connections_per_principal: int = 10
    ws_send_queue: int = 256
    ws_ping_interval_s: float = 15.0
    ws_init_timeout_s: float = 10.0
    ws_shutdown_drain_s: float = 5.0
    # On SIGTERM, how long requests in flight may take to finish before they are cut.
    shutdown_grace_s: int = 20
    # Bounded work per document, and the event loop watched (see README "Limits").
    max_document_chars: int = 64_000
    max_fields: int = 800
    document_budget_ms: int = 250
    loop_warn_s: float = 1.0
    loop_kill_s: float = 30.0
    # Sockets that have not authenticated yet, per process and per client address (close 1013 beyond).
    ws_max_unauthenticated: int = 512
    ws_max_unauthenticated_per_address: int = 32
    # `subscribe` messages per socket: a token bucket (an `error` RATE_LIMITED beyond).
    ws_subscribe_burst: int = 20
    ws_subscribe_per_s: float = 2.0
    # Admission per worker process: requests running at once per organization and overall,
    # the others wait in their organization's queue (bounded in length and time, then 429).
    admission_per_org: int = 4
    admission_per_worker: int = 16
    # A request takes one slot per this much estimated cost (at least one, at most a whole organization's share).
    admission_cost_per_slot: int = 1000
    admission_queue: int = 500
    admission_wait_s: float = 20.0
    rate_limits: RateLimits = field(default_factory=RateLimits)
    # Shares the rate-limit buckets between processes and replicas; in-process buckets without it.
    redis_url: str | None = None
    redis_timeout_s: float = 0.25
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def dev(self) -> bool:
        return self.mode == "dev"

    @property
    def introspection_enabled(self) -> bool:
        return self.dev if self.introspection is None else self.introspection

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def _int(env: Mapping[str, str], name: str, default: int, problems: list[str], minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        problems.append(f"{name}={raw!r} is not an integer")
        return default
    if value < minimum:
        problems.append(f"{name}={value} must be at least {minimum}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, problems: list[str]) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        problems.append(f"{name}={raw!r} is not a number")
        return default
    if value <= 0:
        problems.append(f"{name}={value} must be positive")
    return value


def _bool(env: Mapping[str, str], name: str, problems: list[str]) -> bool | None:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return None
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    problems.append(f"{name}={raw!r} must be true or false")
    return None


def _url(env: Mapping[str, str], name: str, schemes: tuple[str, ...], problems: list[str]) -> str:
    raw = env.get(name, "").strip()
    if not raw:
        problems.append(f"{name} is not set (expected a {' or '.join(schemes)} URL)")
        return ""
    parsed = urlparse(raw)
    if parsed.scheme not in schemes or not (parsed.hostname or parsed.query):
        problems.append(f"{name} must be a {' or '.join(schemes)} URL, got {raw!r}")
    return raw


def _system_url(env: Mapping[str, str], database_url: str, problems: list[str]) -> str:
    """DATABASE_SYSTEM_URL: another login than DATABASE_URL's (as far as the URLs tell; `serve` checks the roles)."""
    if not env.get("DATABASE_SYSTEM_URL", "").strip():
        problems.append(
            "DATABASE_SYSTEM_URL is not set: the gateway's system login (e.g. postgresql://omnify_gateway_system@...), "
            "created by `omnify-gateway migrate`, runs the cross-tenant work the request login must not be able to"
        )
        return ""
    url = _url(env, "DATABASE_SYSTEM_URL", ("postgres", "postgresql"), problems)
    system_user, request_user = urlparse(url).username, urlparse(database_url).username
    if system_user and system_user == request_user:
        problems.append(
            f"DATABASE_SYSTEM_URL names the same login as DATABASE_URL ({system_user!r}): the system login must be "
            "another one, so that the request login cannot run the cross-tenant system functions"
        )
    return url


def _optional_url(env: Mapping[str, str], name: str, schemes: tuple[str, ...], problems: list[str]) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    parsed = urlparse(raw)
    if parsed.scheme not in schemes or not (parsed.hostname or parsed.path):
        # Not echoed: the URL may carry a password.
        problems.append(f"{name} must be a {' or '.join(schemes)} URL")
    return raw


def _issuers(env: Mapping[str, str], problems: list[str]) -> tuple[IssuerConfig, ...]:
    """`OIDC_ISSUERS` (JSON list) for several issuers, or `OIDC_ISSUER` + `OIDC_AUDIENCE` for one."""
    raw_list = env.get("OIDC_ISSUERS", "").strip()
    entries: list[dict[str, object]] = []
    if raw_list:
        try:
            parsed = json.loads(raw_list)
        except json.JSONDecodeError as exc:
            problems.append(f"OIDC_ISSUERS is not valid JSON: {exc.msg}")
            return ()
        if not isinstance(parsed, list) or not all(isinstance(e, dict) for e in parsed):
            problems.append("OIDC_ISSUERS must be a JSON list of objects")
            return ()
        entries = parsed
    elif env.get("OIDC_ISSUER", "").strip():
        entries = [
            {
                "issuer": env["OIDC_ISSUER"].strip(),
                "audience": env.get("OIDC_AUDIENCE", "").strip(),
                "org_claim": env.get("OIDC_ORG_CLAIM", "org"),
                "roles_claim": env.get("OIDC_ROLES_CLAIM", "roles"),
                "scopes_claim": env.get("OIDC_SCOPES_CLAIM", "scope"),
                "client_id": env.get("OIDC_CLIENT_ID") or None,
                "client_secret": env.get("OIDC_CLIENT_SECRET") or None,
                "typ": env.get("OIDC_TOKEN_TYP") or None,
            }
        ]
    else:
        problems.append("OIDC_ISSUER is not set (or OIDC_ISSUERS as a JSON list): tokens cannot be validated")
        return ()
    issuers: list[IssuerConfig] = []
    known = set(IssuerConfig.__dataclass_fields__)
    for index, entry in enumerate(entries):
        where = f"OIDC_ISSUERS[{index}]" if raw_list else "OIDC_ISSUER"
        unknown = set(entry) - known
        if unknown:
            problems.append(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
            continue
        issuer = str(entry.get("issuer") or "")
        audience = str(entry.get("audience") or "")
        if urlparse(issuer).scheme not in ("http", "https"):
            problems.append(f"{where}: issuer must be an http(s) URL, got {issuer!r}")
            continue
        if not audience:
            problems.append(f"{where}: audience is not set (OIDC_AUDIENCE)")
            continue
        algorithms = tuple(str(a) for a in entry.get("algorithms", ALLOWED_ALGORITHMS))  # type: ignore[attr-defined]
        bad = [a for a in algorithms if a not in ALLOWED_ALGORITHMS and a != "HS256"]
        if bad:
            problems.append(f"{where}: algorithms {bad} are not allowed (use {', '.join(ALLOWED_ALGORITHMS)})")
            continue
        typ = entry.get("typ")
        if typ is not None and (not isinstance(typ, str) or "/" in typ.strip().lower().removeprefix("application/")):
            problems.append(f"{where}: typ must be a media type such as at+jwt, got {typ!r}")
            continue
        secret = entry.get("hs256_secret")
        if "HS256" in algorithms and not secret:
            problems.append(f"{where}: HS256 needs hs256_secret")
            continue
        issuers.append(
            IssuerConfig(
                issuer=issuer.rstrip("/"),
                audience=audience,
                org_claim=str(entry.get("org_claim") or "org"),
                roles_claim=str(entry.get("roles_claim") or "roles"),
                scopes_claim=str(entry.get("scopes_claim") or "scope"),
                algorithms=algorithms,
                hs256_secret=str(secret) if secret else None,
                client_id=str(entry["client_id"]) if entry.get("client_id") else None,
                client_secret=str(entry["client_secret"]) if entry.get("client_secret") else None,
                typ=str(entry["typ"]).strip() if entry.get("typ") else None,
            )
        )
    return tuple(issuers)


RATE_LIMIT_KEYS = frozenset({"base", "roles", "partner", "invitee", "organization"})


def _bucket(value: object, default: Bucket, where: str, problems: list[str]) -> Bucket:
    """A bucket from `{"burst": N, "perSecond": R}`; a key left out keeps its default."""
    if not isinstance(value, dict) or set(value) - {"burst", "perSecond"}:
        problems.append(f'OMNIFY_RATE_LIMITS: {where} must be an object with "burst" and/or "perSecond"')
        return default
    burst, rate = value.get("burst", default.burst), value.get("perSecond", default.per_second)
    if not isinstance(burst, int) or isinstance(burst, bool) or burst < 1:
        problems.append(f"OMNIFY_RATE_LIMITS: {where}.burst must be a whole number of at least 1")
        return default
    if not isinstance(rate, int | float) or isinstance(rate, bool) or not rate > 0:
        problems.append(f"OMNIFY_RATE_LIMITS: {where}.perSecond must be a positive number")
        return default
    return Bucket(burst, float(rate))


def _rate_limits(env: Mapping[str, str], problems: list[str]) -> RateLimits:
    """`OMNIFY_RATE_LIMITS`: `off`, or a JSON object whose keys override the defaults one by one."""
    defaults = RateLimits()
    raw = env.get("OMNIFY_RATE_LIMITS", "").strip()
    if not raw:
        return defaults
    if raw.lower() in ("off", "false", "0", "none"):
        return replace(defaults, enabled=False)
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        problems.append(f"OMNIFY_RATE_LIMITS is not valid JSON ({exc.msg}) nor `off`")
        return defaults
    if not isinstance(parsed, dict):
        problems.append("OMNIFY_RATE_LIMITS must be a JSON object or `off`")
        return defaults
    unknown = set(parsed) - RATE_LIMIT_KEYS
    if unknown:
        problems.append(f"OMNIFY_RATE_LIMITS has unknown keys: {', '.join(sorted(unknown))}")
    base = parsed.get("base", defaults.base)
    if not isinstance(base, int) or isinstance(base, bool) or base < 0:
        problems.append("OMNIFY_RATE_LIMITS: base must be a whole number of at least 0")
        base = defaults.base
    roles = dict(defaults.roles)
    given = parsed.get("roles", {})
    if not isinstance(given, dict):
        problems.append("OMNIFY_RATE_LIMITS: roles must be an object of role -> bucket")
        given = {}
    for role, value in given.items():
        if role not in RATE_LIMIT_ROLES:
            problems.append(f"OMNIFY_RATE_LIMITS: unknown role {role!r} (roles: {', '.join(RATE_LIMIT_ROLES)})")
            continue
        roles[role] = _bucket(value, roles[role], f"roles.{role}", problems)
    kinds = {
        name: _bucket(parsed[name], getattr(defaults, name), name, problems)
        if name in parsed
        else getattr(defaults, name)
        for name in ("partner", "invitee", "organization")
    }
    return RateLimits(True, base, roles, kinds["partner"], kinds["invitee"], kinds["organization"])


def login_issuer(settings: Settings) -> IssuerConfig | None:
    """The issuer GraphiQL login goes through: the first one with a registered client."""
    return next((i for i in settings.issuers if i.client_id), None)


def login_problems(settings: Settings) -> list[str]:
    """What GraphiQL login needs once an issuer has a client id; empty when login is off."""
    issuer = login_issuer(settings)
    if issuer is None:
        return []
    problems: list[str] = []
    if not settings.session_secret:
        problems.append(
            f"OMNIFY_SESSION_SECRET is not set: GraphiQL login (client {issuer.client_id!r} of {issuer.issuer}) "
            "encrypts its session cookies with a key derived from it; use 32+ random characters, e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )
    elif len(settings.session_secret) < MIN_SESSION_SECRET_CHARS:
        problems.append(f"OMNIFY_SESSION_SECRET must be at least {MIN_SESSION_SECRET_CHARS} characters")
    public = urlparse(settings.public_url)
    if public.scheme not in ("http", "https") or not public.hostname or public.path not in ("", "/"):
        problems.append(
            f"OMNIFY_PUBLIC_URL must be the gateway's external origin (e.g. https://api.example.com) when "
            f"GraphiQL login is on: the identity provider sends browsers back to OMNIFY_PUBLIC_URL/auth/callback; "
            f"got {settings.public_url!r}"
        )
    return problems


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers narrow), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Production settings from the environment; raises ConfigError naming every problem."""
    env = os.environ if env is None else env
    problems: list[str] = []
    mongo_url = _url(env, "MONGO_URL", ("mongodb", "mongodb+srv"), problems)
    database_url = _url(env, "DATABASE_URL", ("postgres", "postgresql"), problems)
    database_system_url = _system_url(env, database_url, problems)
    issuers = _issuers(env, problems)
    settings = Settings(
        mode="production",
        mongo_url=mongo_url,
        database_url=database_url,
        database_system_url=database_system_url,
        pg_system_pool_max=_int(env, "OMNIFY_PG_SYSTEM_POOL_MAX", 4, problems, minimum=1),
        issuers=issuers,
        mongo_db=env.get("MONGO_DB", "omnify_cloud") or "omnify_cloud",
        host=env.get("OMNIFY_HOST", "0.0.0.0"),
        port=_int(env, "OMNIFY_PORT", 8000, problems, minimum=1),
        public_url=env.get("OMNIFY_PUBLIC_URL", ""),
        pg_pool_min=_int(env, "OMNIFY_PG_POOL_MIN", 1, problems, minimum=0),
        pg_pool_max=_int(env, "OMNIFY_PG_POOL_MAX", 20, problems, minimum=1),
        pg_pool_wait_s=_float(env, "OMNIFY_PG_POOL_WAIT_S", 0.0, problems) or None,
        pg_pool_queue=_int(env, "OMNIFY_PG_POOL_QUEUE", 500, problems, minimum=1),
        store_timeout_s=_float(env, "OMNIFY_STORE_TIMEOUT_S", 5.0, problems),
        request_timeout_s=_float(env, "OMNIFY_REQUEST_TIMEOUT_S", 30.0, problems),
        max_body_bytes=_int(env, "OMNIFY_MAX_BODY_BYTES", 5_000_000, problems, minimum=1024),
        max_token_bytes=_int(env, "OMNIFY_MAX_TOKEN_BYTES", 8192, problems, minimum=512),
        jwks_cache_ttl_s=_float(env, "OMNIFY_JWKS_CACHE_TTL_S", 600.0, problems),
        jwks_min_refresh_interval_s=_float(env, "OMNIFY_JWKS_MIN_REFRESH_S", 30.0, problems),
        max_token_lifetime_s=_float(env, "OMNIFY_MAX_TOKEN_LIFETIME_S", 86_400.0, problems),
        log_level=env.get("OMNIFY_LOG_LEVEL", "INFO").upper(),
        max_depth=_int(env, "OMNIFY_MAX_DEPTH", 12, problems, minimum=2),
        max_aliases=_int(env, "OMNIFY_MAX_ALIASES", 30, problems, minimum=0),
        max_tokens=_int(env, "OMNIFY_MAX_TOKENS", 2500, problems, minimum=100),
        max_cost=_int(env, "OMNIFY_MAX_COST", 50_000, problems, minimum=100),
        introspection=_bool(env, "OMNIFY_INTROSPECTION", problems),
        session_secret=env.get("OMNIFY_SESSION_SECRET", ""),
        workers=_int(env, "OMNIFY_WORKERS", available_cores(), problems, minimum=1),
        ws_max_subscriptions=_int(env, "OMNIFY_WS_MAX_SUBSCRIPTIONS", 20, problems, minimum=1),
        ws_max_connections_per_principal=_int(env, "OMNIFY_WS_MAX_CONNECTIONS_PER_PRINCIPAL", 10, problems, minimum=1),
        ws_send_queue=_int(env, "OMNIFY_WS_SEND_QUEUE", 256, problems, minimum=8),
        ws_ping_interval_s=_float(env, "OMNIFY_WS_PING_INTERVAL_S", 15.0, problems),
        ws_init_timeout_s=_float(env, "OMNIFY_WS_INIT_TIMEOUT_S", 10.0, problems),
        ws_shutdown_drain_s=_float(env, "OMNIFY_WS_SHUTDOWN_DRAIN_S", 5.0, problems),
        shutdown_grace_s=_int(env, "OMNIFY_SHUTDOWN_GRACE_S", 20, problems, minimum=1),
        executor=env.get("OMNIFY_EXECUTOR", "planned").lower(),
        max_document_chars=_int(env, "OMNIFY_MAX_DOCUMENT_CHARS", 64_000, problems, minimum=1000),
        max_fields=_int(env, "OMNIFY_MAX_FIELDS", 800, problems, minimum=10),
        document_budget_ms=_int(env, "OMNIFY_DOCUMENT_BUDGET_MS", 250, problems, minimum=10),
        loop_warn_s=_float(env, "OMNIFY_LOOP_WARN_S", 1.0, problems),
        loop_kill_s=_float(env, "OMNIFY_LOOP_KILL_S", 30.0, problems),
        ws_max_unauthenticated=_int(env, "OMNIFY_WS_MAX_UNAUTHENTICATED", 512, problems, minimum=1),
        ws_max_unauthenticated_per_address=_int(
            env, "OMNIFY_WS_MAX_UNAUTHENTICATED_PER_ADDRESS", 32, problems, minimum=1
        ),
        ws_subscribe_burst=_int(env, "OMNIFY_WS_SUBSCRIBE_BURST", 20, problems, minimum=1),
        ws_subscribe_per_s=_float(env, "OMNIFY_WS_SUBSCRIBE_PER_S", 2.0, problems),
        admission_per_org=_int(env, "OMNIFY_ADMISSION_PER_ORG", 4, problems, minimum=1),
        admission_per_worker=_int(env, "OMNIFY_ADMISSION_PER_WORKER", 16, problems, minimum=1),
        admission_cost_per_slot=_int(env, "OMNIFY_ADMISSION_COST_PER_SLOT", 1000, problems, minimum=1),
        admission_queue=_int(env, "OMNIFY_ADMISSION_QUEUE", 500, problems, minimum=0),
        admission_wait_s=_float(env, "OMNIFY_ADMISSION_WAIT_S", 20.0, problems),
        rate_limits=_rate_limits(env, problems),
        redis_url=_optional_url(env, "REDIS_URL", ("redis", "rediss", "unix"), problems),
        redis_timeout_s=_float(env, "OMNIFY_REDIS_TIMEOUT_S", 0.25, problems),
    )
    if settings.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        problems.append(f"OMNIFY_LOG_LEVEL={settings.log_level!r} must be DEBUG, INFO, WARNING or ERROR")
    if settings.executor not in EXECUTORS:
        problems.append(f"OMNIFY_EXECUTOR={settings.executor!r} must be one of {', '.join(EXECUTORS)}")
    if settings.loop_kill_s <= settings.loop_warn_s:
        problems.append("OMNIFY_LOOP_KILL_S must be greater than OMNIFY_LOOP_WARN_S")
    if settings.admission_per_org > settings.admission_per_worker:
        problems.append("OMNIFY_ADMISSION_PER_ORG must not exceed OMNIFY_ADMISSION_PER_WORKER")
    if settings.admission_wait_s >= settings.request_timeout_s:
        problems.append(
            "OMNIFY_ADMISSION_WAIT_S must be below OMNIFY_REQUEST_TIMEOUT_S (a request must have time to run)"
        )
    if settings.pg_pool_min > settings.pg_pool_max:
        problems.append("OMNIFY_PG_POOL_MIN must not exceed OMNIFY_PG_POOL_MAX")
    problems += login_problems(settings)
    if problems:
        raise ConfigError(problems)
    return settings
