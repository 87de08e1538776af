"""Settings, read once from the environment and validated before anything starts.

Every problem is collected and reported together, each naming the variable,
so an operator fixes a deployment in one pass instead of one error at a time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

# load_settings reads as a table, one line a variable: the readers keep their short names here.
from gateway.core.config_env import flag as _bool
from gateway.core.config_env import integer as _int
from gateway.core.config_env import issuers as _issuers
from gateway.core.config_env import number as _float
from gateway.core.config_env import optional_url as _optional_url
from gateway.core.config_env import rate_limits as _rate_limits
from gateway.core.config_env import required_url as _url
from gateway.core.config_env import secret_key as _secret_key
from gateway.core.config_env import system_url as _system_url
from gateway.core.config_values import RATE_LIMIT_ROLES, Bucket, IssuerConfig, RateLimits
from gateway.core.manifest import read_manifest

__all__ = [
    "EXECUTORS",
    "MIN_SESSION_SECRET_CHARS",
    "RATE_LIMIT_ROLES",
    "Bucket",
    "ConfigError",
    "IssuerConfig",
    "Mode",
    "RateLimits",
    "Settings",
    "available_cores",
    "load_settings",
    "login_issuer",
    "login_problems",
]

Mode = Literal["dev", "production"]
Policy = Literal["required", "optional"]

MIN_SESSION_SECRET_CHARS = 32


class ConfigError(Exception):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


EXECUTORS = ("planned", "standard", "compare")


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
    # Audit events the outbox dispatcher claims and sends to MongoDB at once (at most 1000).
    outbox_batch: int = 500
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
    # The master key sealing credential secrets (OMNIFY_SECRET_KEY); without it credential writes are refused.
    secret_key: bytes | None = field(default=None, repr=False)
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
    # Bounded work per document, and the event loop watched (README "Limits", docs/limits.md).
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
    # Automatic persisted queries: documents registered by hash, in Redis when REDIS_URL is set
    # (at most `apq_redis_entries`), else in an in-process LRU of `apq_cache_size`; each for `apq_ttl_s`.
    apq: bool = True
    apq_cache_size: int = 1000
    apq_redis_entries: int = 5_000
    apq_max_bytes: int = 32_768  # a document kept is at most this long in UTF-8: the stores' size is bounded
    apq_ttl_s: int = 86_400
    # Trusted documents (hash -> document) from OMNIFY_TRUSTED_DOCUMENTS, and who may run only those.
    trusted_documents: Mapping[str, str] | None = None
    trusted_partners: Policy = "required"
    trusted_users: Policy = "optional"
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def dev(self) -> bool:
        return self.mode == "dev"

    @property
    def introspection_enabled(self) -> bool:
        return self.dev if self.introspection is None else self.introspection

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def _policy(env: Mapping[str, str], name: str, default: Policy, problems: list[str]) -> Policy:
    raw = env.get(name, "").strip().lower() or default
    if raw not in ("required", "optional"):
        problems.append(f"{name}={raw!r} must be required or optional")
        return default
    return "required" if raw == "required" else "optional"


def _trusted_documents(env: Mapping[str, str], problems: list[str]) -> tuple[Mapping[str, str] | None, Policy, Policy]:
    """The manifest OMNIFY_TRUSTED_DOCUMENTS names, read and checked now, and the policies (partners: required)."""
    path = env.get("OMNIFY_TRUSTED_DOCUMENTS", "").strip()
    partners = _policy(env, "OMNIFY_TRUSTED_DOCUMENTS_PARTNERS", "required", problems)
    users = _policy(env, "OMNIFY_TRUSTED_DOCUMENTS_USERS", "optional", problems)
    if not path:
        for name in ("OMNIFY_TRUSTED_DOCUMENTS_PARTNERS", "OMNIFY_TRUSTED_DOCUMENTS_USERS"):
            if env.get(name, "").strip().lower() == "required":
                problems.append(f"{name}=required needs a manifest: set OMNIFY_TRUSTED_DOCUMENTS")
        return None, partners, users
    documents, wrong = read_manifest(path, "OMNIFY_TRUSTED_DOCUMENTS")
    problems += wrong
    return documents, partners, users


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


def _outbox_batch(env: Mapping[str, str], problems: list[str]) -> int:
    value = _int(env, "OMNIFY_OUTBOX_BATCH", 500, problems, minimum=1)
    if value > 1000:  # what one claim hands out at most
        problems.append(f"OMNIFY_OUTBOX_BATCH={value} must be at most 1000")
    return value


def _secrets(env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    """The GraphiQL session secret and the credential secrets' master key."""
    return {"session_secret": env.get("OMNIFY_SESSION_SECRET", ""), "secret_key": _secret_key(env, problems)}


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Production settings from the environment; raises ConfigError naming every problem."""
    env = os.environ if env is None else env
    problems: list[str] = []
    mongo_url = _url(env, "MONGO_URL", ("mongodb", "mongodb+srv"), problems)
    database_url = _url(env, "DATABASE_URL", ("postgres", "postgresql"), problems)
    database_system_url = _system_url(env, database_url, problems)
    issuers = _issuers(env, problems)
    trusted = _trusted_documents(env, problems)
    settings = Settings(
        mode="production",
        mongo_url=mongo_url,
        database_url=database_url,
        database_system_url=database_system_url,
        pg_system_pool_max=_int(env, "OMNIFY_PG_SYSTEM_POOL_MAX", 4, problems, minimum=1),
        outbox_batch=_outbox_batch(env, problems),
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
        **_secrets(env, problems),
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
        apq=_bool(env, "OMNIFY_APQ", problems) is not False,
        apq_cache_size=_int(env, "OMNIFY_APQ_CACHE_SIZE", 1000, problems, minimum=1),
        apq_redis_entries=_int(env, "OMNIFY_APQ_REDIS_ENTRIES", 5_000, problems, minimum=1),
        apq_max_bytes=_int(env, "OMNIFY_APQ_MAX_BYTES", 32_768, problems, minimum=1),
        apq_ttl_s=_int(env, "OMNIFY_APQ_TTL_S", 86_400, problems, minimum=1),
        trusted_documents=trusted[0],
        trusted_partners=trusted[1],
        trusted_users=trusted[2],
    )
    problems += _between(settings)
    if problems:
        raise ConfigError(problems)
    return settings


def _between(settings: Settings) -> list[str]:
    """What no variable is wrong about alone: values that contradict each other."""
    problems: list[str] = []
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
    return problems + login_problems(settings)
