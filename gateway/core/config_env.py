"""Reading one setting from the environment: each function parses its variable or, when it cannot,
appends a problem naming it and gives the default (gateway.core.config collects every problem)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from urllib.parse import urlparse

from gateway.core.config_values import ALLOWED_ALGORITHMS, RATE_LIMIT_ROLES, Bucket, IssuerConfig, RateLimits
from gateway.core.vault import KeyProblem, parse_key


def integer(env: Mapping[str, str], name: str, default: int, problems: list[str], minimum: int = 0) -> int:
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


def number(env: Mapping[str, str], name: str, default: float, problems: list[str]) -> float:
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


def flag(env: Mapping[str, str], name: str, problems: list[str]) -> bool | None:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return None
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    problems.append(f"{name}={raw!r} must be true or false")
    return None


def required_url(env: Mapping[str, str], name: str, schemes: tuple[str, ...], problems: list[str]) -> str:
    raw = env.get(name, "").strip()
    if not raw:
        problems.append(f"{name} is not set (expected a {' or '.join(schemes)} URL)")
        return ""
    parsed = urlparse(raw)
    if parsed.scheme not in schemes or not (parsed.hostname or parsed.query):
        problems.append(f"{name} must be a {' or '.join(schemes)} URL, got {raw!r}")
    return raw


def system_url(env: Mapping[str, str], database_url: str, problems: list[str]) -> str:
    """DATABASE_SYSTEM_URL: another login than DATABASE_URL's (as far as the URLs tell; `serve` checks the roles)."""
    if not env.get("DATABASE_SYSTEM_URL", "").strip():
        problems.append(
            "DATABASE_SYSTEM_URL is not set: the gateway's system login (e.g. postgresql://omnify_gateway_system@...), "
            "created by `omnify-gateway migrate`, runs the cross-tenant work the request login must not be able to"
        )
        return ""
    url = required_url(env, "DATABASE_SYSTEM_URL", ("postgres", "postgresql"), problems)
    system_user, request_user = urlparse(url).username, urlparse(database_url).username
    if system_user and system_user == request_user:
        problems.append(
            f"DATABASE_SYSTEM_URL names the same login as DATABASE_URL ({system_user!r}): the system login must be "
            "another one, so that the request login cannot run the cross-tenant system functions"
        )
    return url


def optional_url(env: Mapping[str, str], name: str, schemes: tuple[str, ...], problems: list[str]) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    parsed = urlparse(raw)
    if parsed.scheme not in schemes or not (parsed.hostname or parsed.path):
        # Not echoed: the URL may carry a password.
        problems.append(f"{name} must be a {' or '.join(schemes)} URL")
    return raw


def secret_key(env: Mapping[str, str], problems: list[str]) -> bytes | None:
    """The credential secrets' master key; never quoted back, even when it is wrong."""
    raw = env.get("OMNIFY_SECRET_KEY", "").strip()
    if not raw:
        return None
    try:
        return parse_key(raw)
    except KeyProblem as exc:
        problems.append(
            f"OMNIFY_SECRET_KEY {exc}: use 32 random bytes in base64, e.g. "
            "`python -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())'`"
        )
        return None


def issuers(env: Mapping[str, str], problems: list[str]) -> tuple[IssuerConfig, ...]:
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


def rate_limits(env: Mapping[str, str], problems: list[str]) -> RateLimits:
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
