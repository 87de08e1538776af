"""The claims of a signed token, checked as data before anything reads them.

A signature proves who issued a token, not that its claims are sane: an
issuer (or a tenant able to set attributes that an issuer copies into its
tokens) can put a NUL or a lone surrogate in `sub`, a number where a role
list belongs, or `exp: 1e300`. Each claim the gateway reads is held to its
type here, strings to valid, storable text of bounded length, numbers to
finite values, and the token's lifetime to the configured maximum, so a
malformed token is a 401 and never reaches a store (where it would fail as
an error of the server). Problems name the claim, never its value.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from gateway.core.config import IssuerConfig
from gateway.core.text import string_problem

MAX_CLAIM_CHARS = 512  # identifiers, e-mail addresses, role and scope names are far shorter
MAX_CLAIM_ITEMS = 100  # roles, scopes, audiences


class ClaimProblem(ValueError):
    """A claim the gateway reads is missing, of the wrong type, or not valid text; the message names it."""


def _text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise ClaimProblem(f"the {name} claim must be a string")
    if not value or len(value) > MAX_CLAIM_CHARS or string_problem(value):
        raise ClaimProblem(f"the {name} claim must be 1 to {MAX_CLAIM_CHARS} characters of valid text")
    return value


def _texts(name: str, value: object, *, spaced: bool = False) -> None:
    """A string, or a list of strings (`spaced`: a space-separated string, as OAuth scopes are)."""
    if isinstance(value, str):
        items = value.split() if spaced else [value]
        if spaced and (len(value) > MAX_CLAIM_CHARS * 4 or string_problem(value)):
            raise ClaimProblem(f"the {name} claim must be valid text of at most {MAX_CLAIM_CHARS * 4} characters")
    elif isinstance(value, list):
        items = value
    else:
        raise ClaimProblem(f"the {name} claim must be a string or a list of strings")
    if len(items) > MAX_CLAIM_ITEMS:
        raise ClaimProblem(f"the {name} claim must have at most {MAX_CLAIM_ITEMS} items")
    for item in items:
        _text(name, item)


def _number(name: str, value: object) -> float:
    # bool is an int to Python, not a NumericDate to a JWT.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ClaimProblem(f"the {name} claim must be a number")
    try:
        number = float(value)
    except OverflowError:
        raise ClaimProblem(f"the {name} claim must be a finite number") from None
    if not math.isfinite(number):
        raise ClaimProblem(f"the {name} claim must be a finite number")
    return number


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """Read a claim by exact name first (Auth0's URL-named claims), then by dotted path (`realm_access.roles`)."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def check_claims(
    claims: Mapping[str, Any], config: IssuerConfig, max_lifetime_s: float, leeway_s: float, now: float | None = None
) -> None:
    """Raise ClaimProblem unless every claim the gateway reads is well-formed and the lifetime is bounded."""
    _text("sub", claims.get("sub"))
    _text("iss", claims.get("iss"))
    if "aud" not in claims:
        raise ClaimProblem("the aud claim is missing")
    _texts("aud", claims["aud"])
    for name in ("azp", "client_id", "gty", "email"):
        if claims.get(name) is not None:
            _text(name, claims[name])
    if claims.get("email_verified") is not None and not isinstance(claims["email_verified"], bool):
        raise ClaimProblem("the email_verified claim must be true or false")
    organization = claim_at(claims, config.org_claim)
    if organization is not None and organization != "":
        _text(config.org_claim, organization)
    roles = claim_at(claims, config.roles_claim)
    if roles is not None:
        _texts(config.roles_claim, roles)
    scopes = claim_at(claims, config.scopes_claim)
    if scopes is not None:
        _texts(config.scopes_claim, scopes, spaced=True)
    _check_times(claims, max_lifetime_s, leeway_s, time.time() if now is None else now)


def _check_times(claims: Mapping[str, Any], max_lifetime_s: float, leeway_s: float, now: float) -> None:
    if claims.get("exp") is None:
        raise ClaimProblem("the exp claim is missing")
    expires = _number("exp", claims["exp"])
    for name in ("nbf", "iat"):
        if claims.get(name) is not None:
            _number(name, claims[name])
    # A stolen token that never expires stays a key forever: refuse lifetimes beyond the maximum,
    # measured from now (whatever `iat` says) and, when the issuer says when it issued, from then.
    if expires - now > max_lifetime_s + leeway_s:
        raise ClaimProblem(f"the token lives longer than the allowed {max_lifetime_s:g} s")
    if claims.get("iat") is not None and expires - float(claims["iat"]) > max_lifetime_s:
        raise ClaimProblem(f"the token was issued for longer than the allowed {max_lifetime_s:g} s")


def media_type_problem(header: Mapping[str, Any], expected: str | None) -> str | None:
    """Why the header's `typ` is not the issuer's declared one (RFC 9068: `at+jwt`), or None.

    Media types compare without regard to case, and `typ` may leave out the `application/` prefix.
    """
    if expected is None:
        return None
    typ = header.get("typ")
    if not isinstance(typ, str) or _media_type(typ) != _media_type(expected):
        return f"the token's typ header must be {expected}"
    return None


def _media_type(value: str) -> str:
    lowered = value.strip().lower()
    return lowered.removeprefix("application/")
