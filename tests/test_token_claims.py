"""Correctly signed tokens with malformed claims: 401 UNAUTHENTICATED in JSON, never a 500.

Every token here is signed by the real test issuer over HTTP-fetched keys, so
the signature is good and only the claims are wrong: text that no store can hold
(NUL, a lone surrogate), values of the wrong type, numbers that are not finite,
lifetimes beyond the maximum, and the `typ` an issuer declares. Over HTTP the
answer is 401 with `WWW-Authenticate` and a message that names the claim but
never echoes its value; over WebSocket `connection_init` it is close code 4401.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from gateway.core.config import ConfigError, IssuerConfig, load_settings
from gateway.http.app import create_app
from tests.conftest import Stores, gateway_settings
from tests.support.issuer import AUDIENCE, TestIssuer
from tests.support.servers import ServerThread

QUERY = {"query": "{ organization { slug } }"}
NAN, INF = float("nan"), float("inf")
DAY = 86_400


def now() -> int:
    return int(time.time())


# (case, claim overrides, a value the answer must not echo)
MALFORMED: list[tuple[str, dict[str, Any], str | None]] = [
    ("sub-lone-surrogate", {"sub": "a\ud800b"}, None),
    ("sub-nul", {"sub": "a\u0000b"}, None),
    ("sub-number", {"sub": 12345}, None),
    ("sub-empty", {"sub": ""}, None),
    ("sub-too-long", {"sub": "s" * 600}, "s" * 600),
    ("sub-missing", {"sub": None}, None),
    ("iss-list", {"iss": ["x"]}, None),
    ("aud-number", {"aud": 5}, None),
    ("aud-missing", {"aud": None}, None),
    ("azp-object", {"azp": {"x": 1}}, None),
    ("client-id-surrogate", {"client_id": "\udc00"}, None),
    ("gty-number", {"gty": 1}, None),
    ("email-surrogate", {"email": "evil\ud800@example.com"}, None),
    ("email-verified-string", {"email_verified": "yes"}, None),
    ("org-object", {"org": {"slug": "acme"}}, None),
    ("org-nul", {"org": "ac\u0000me"}, None),
    ("roles-number-item", {"roles": ["owner", 5]}, None),
    ("roles-object", {"roles": {"owner": True}}, None),
    ("roles-too-many", {"roles": ["viewer"] * 101}, None),
    ("scope-number", {"scope": 5}, None),
    ("scope-surrogate", {"scope": "metrics:write \ud800"}, None),
    ("exp-nan", {"exp": NAN}, None),
    ("exp-infinity", {"exp": INF}, None),
    ("exp-string", {"exp": "soon"}, None),
    ("exp-bool", {"exp": True}, None),
    ("exp-missing", {"exp": None}, None),
    ("exp-1e300", {"exp": 1e300}, None),
    ("exp-huge-int", {"exp": 10**400}, None),
    ("exp-in-25-hours", {"exp": "+25h"}, None),
    ("issued-for-2-days", {"iat": "-47h", "exp": "+1h"}, None),
    ("nbf-nan", {"nbf": NAN}, None),
    ("iat-string", {"iat": "yesterday"}, None),
]


def claims_of(overrides: dict[str, Any]) -> dict[str, Any]:
    """Relative times ("+25h") made absolute."""
    resolved = {}
    for name, value in overrides.items():
        if isinstance(value, str) and value[:1] in "+-" and value.endswith("h"):
            value = now() + int(value[:-1]) * 3600
        resolved[name] = value
    return resolved


@pytest.fixture(autouse=True)
def quiet(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.INFO)
    yield
    loud = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR or r.exc_info]
    assert not loud, [(r.name, r.levelname, r.getMessage()) for r in loud]


def assert_unauthenticated(response: httpx.Response, secret: str | None) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/json")
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="omnify-gateway", error="invalid_token"'), challenge
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED" and error["message"].startswith("token "), error
    for text in (response.text, challenge):
        assert "\\ud" not in text.lower() and "\\u0000" not in text and "evil" not in text, text
        assert secret is None or secret not in text


async def post(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/graphql", json=QUERY, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize(("case", "overrides", "secret"), MALFORMED, ids=[c[0] for c in MALFORMED])
async def test_signed_tokens_with_malformed_claims_are_401(
    client: httpx.AsyncClient, issuer: TestIssuer, case: str, overrides: dict[str, Any], secret: str | None
) -> None:
    token = issuer.raw_token("acme", "owner", **claims_of(overrides))
    assert_unauthenticated(await post(client, token), secret)


async def test_well_formed_tokens_still_pass(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    for token in (
        issuer.raw_token("acme", "owner"),
        issuer.raw_token("acme", "owner", roles="owner"),  # one role as a string
        issuer.raw_token("acme", "owner", exp=now() + DAY - 60, iat=now() - 60),  # just inside a day
        issuer.token("acme", "owner"),
    ):
        response = await post(client, token)
        assert response.status_code == 200 and response.json()["data"]["organization"]["slug"] == "acme"


async def test_a_payload_nested_past_the_recursion_limit_is_401(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    payload = json.dumps(issuer.claims("acme", "owner"))[:-1] + ', "x": ' + "[" * 2500 + "]" * 2500 + "}"
    token = issuer.signed(payload.encode())
    assert len(token) < 8192  # under the size limit: refused while decoding
    assert_unauthenticated(await post(client, token), None)


# --- typ and a shorter lifetime, on a gateway configured for them -------------------------------


@pytest.fixture(scope="module")
def strict_gateway(seeded: Stores, issuer: TestIssuer) -> Iterator[ServerThread]:
    settings = gateway_settings(
        seeded,
        issuer,
        issuers=(IssuerConfig(issuer=issuer.url, audience=AUDIENCE, typ="at+jwt"),),
        max_token_lifetime_s=3600.0,
    )
    server = ServerThread(create_app(settings)).start()
    yield server
    server.stop()


@pytest.fixture
async def strict(strict_gateway: ServerThread) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=strict_gateway.url, timeout=30) as http:
        yield http


async def test_typ_is_checked_where_the_issuer_declares_it(
    strict: httpx.AsyncClient, client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    for typ in ("at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"):
        response = await post(strict, issuer.token("acme", "owner", header={"typ": typ}))
        assert response.status_code == 200, (typ, response.text)
    for header in ({"typ": "JWT"}, {"typ": "application/jwt"}, {"typ": "at+jwt; x"}, {"typ": "text/at+jwt"}):
        assert_unauthenticated(await post(strict, issuer.token("acme", "owner", header=header)), None)
    untyped = issuer.signed(json.dumps(issuer.claims("acme", "owner")).encode(), header={"typ": None})
    assert_unauthenticated(await post(strict, untyped), None)
    # The default gateway's issuer declares no typ: `JWT` passes there.
    assert (await post(client, issuer.token("acme", "owner", header={"typ": "JWT"}))).status_code == 200


async def test_the_maximum_lifetime_is_configurable(
    strict: httpx.AsyncClient, client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    two_hours = issuer.token("acme", "owner", header={"typ": "at+jwt"}, exp=now() + 7200)
    assert_unauthenticated(await post(strict, two_hours), None)
    assert (await post(client, issuer.token("acme", "owner", exp=now() + 7200))).status_code == 200
    hour = issuer.token("acme", "owner", header={"typ": "at+jwt"}, exp=now() + 3000, iat=now())
    assert (await post(strict, hour)).status_code == 200


# --- WebSocket connection_init ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [{"sub": "a\ud800b"}, {"exp": 1e300}, {"email": "x\u0000@example.com"}, {"roles": [{"r": 1}]}],
    ids=["sub-surrogate", "exp-1e300", "email-nul", "roles-object"],
)
async def test_malformed_claims_close_a_socket_with_4401(
    gateway: ServerThread, issuer: TestIssuer, overrides: dict[str, Any]
) -> None:
    token = issuer.raw_token("acme", "owner", **overrides)
    url = gateway.url.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=["graphql-transport-ws"], open_timeout=30) as ws:  # type: ignore[list-item]
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await ws.send(orjson.dumps(init).decode())
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401, closed.value
    assert closed.value.rcvd.reason.startswith("unauthorized: token ")


# --- configuration ---------------------------------------------------------------------------------


def test_lifetime_and_typ_settings_are_validated() -> None:
    base = {
        "MONGO_URL": "mongodb://m:27017",
        "DATABASE_URL": "postgresql://u@p/db",
        "DATABASE_SYSTEM_URL": "postgresql://s@p/db",
    }
    single = {**base, "OIDC_ISSUER": "https://id.example.com", "OIDC_AUDIENCE": "api"}
    assert load_settings(single).max_token_lifetime_s == DAY
    assert load_settings({**single, "OMNIFY_MAX_TOKEN_LIFETIME_S": "3600"}).max_token_lifetime_s == 3600
    assert load_settings({**single, "OIDC_TOKEN_TYP": "at+jwt"}).issuers[0].typ == "at+jwt"
    listed = {
        **base,
        "OIDC_ISSUERS": json.dumps([{"issuer": "https://id.example.com", "audience": "api", "typ": "at+jwt"}]),
    }
    assert load_settings(listed).issuers[0].typ == "at+jwt"
    with pytest.raises(ConfigError) as bad:
        load_settings(
            {
                **base,
                "OMNIFY_MAX_TOKEN_LIFETIME_S": "forever",
                "OIDC_ISSUERS": json.dumps([{"issuer": "https://id.example.com", "audience": "api", "typ": 5}]),
            }
        )
    problems = "\n".join(bad.value.problems)
    assert "OMNIFY_MAX_TOKEN_LIFETIME_S" in problems and "OIDC_ISSUERS[0]: typ" in problems
