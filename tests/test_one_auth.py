"""HTTP and WebSocket admit a caller by one path: the same `Authorization` value is read, verified
and refused alike, whether it comes as a request header or in a socket's `connection_init`."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest

from gateway.http.auth import bearer
from tests.support.issuer import TestIssuer
from tests.support.servers import ServerThread
from tests.test_subscriptions import socket

ADMITTED, UNAUTHENTICATED, FORBIDDEN = "admitted", "unauthenticated", "forbidden"
HTTP_STATUS = {ADMITTED: 200, UNAUTHENTICATED: 401, FORBIDDEN: 403}
WS_OUTCOME = {ADMITTED: "connection_ack", UNAUTHENTICATED: 4401, FORBIDDEN: 4403}

# What a caller sends as `Authorization`, made from a fresh token of the test issuer, and the outcome.
CASES: list[tuple[str, Callable[[TestIssuer], str], str]] = [
    ("bearer", lambda i: f"Bearer {i.token('acme', 'viewer')}", ADMITTED),
    ("scheme in any case, spaces", lambda i: f"bEaReR   {i.token('acme', 'viewer')}", ADMITTED),
    ("no token", lambda i: "Bearer", UNAUTHENTICATED),
    ("another scheme", lambda i: f"Basic {i.token('acme', 'viewer')}", UNAUTHENTICATED),
    ("no scheme", lambda i: i.token("acme", "viewer"), UNAUTHENTICATED),
    ("not a JWT", lambda i: "Bearer ' OR 1=1 --", UNAUTHENTICATED),
    ("oversize", lambda i: "Bearer " + "a" * 20_000, UNAUTHENTICATED),
    (
        "a stranger to the organization",
        lambda i: f"Bearer {i.token('acme', 'owner', sub=str(uuid.uuid4()))}",
        FORBIDDEN,
    ),
    ("an organization that does not exist", lambda i: f"Bearer {i.token('nowhere-' + uuid.uuid4().hex)}", FORBIDDEN),
]


def test_bearer_reads_only_a_bearer_token() -> None:
    assert bearer("Bearer abc") == bearer("bearer  abc ") == "abc"
    assert [bearer(v) for v in ("Bearer", "Bearer   ", "Basic abc", "abc", "", None, 42, ["Bearer abc"])] == [None] * 8


@pytest.mark.parametrize(("name", "authorization", "outcome"), CASES, ids=[c[0] for c in CASES])
async def test_both_transports_read_and_refuse_credentials_alike(
    gateway: ServerThread, issuer: TestIssuer, name: str, authorization: Callable[[TestIssuer], str], outcome: str
) -> None:
    value = authorization(issuer)
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        response = await http.post("/graphql", json={"query": "{ __typename }"}, headers={"Authorization": value})
    assert response.status_code == HTTP_STATUS[outcome], response.text
    async with socket(gateway.url) as client:
        await client.send({"type": "connection_init", "payload": {"Authorization": value}})
        if outcome == ADMITTED:
            assert (await client.receive())["type"] == WS_OUTCOME[outcome]
        else:
            assert (await client.closed())[0] == WS_OUTCOME[outcome]


async def test_a_bearer_header_after_another_scheme_is_read(gateway: ServerThread, issuer: TestIssuer) -> None:
    # Two Authorization headers: the bearer one is used, as before the paths were shared.
    headers = [("Authorization", "Basic dXNlcjpwYXNz"), ("Authorization", f"Bearer {issuer.token('acme', 'viewer')}")]
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        response = await http.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
    assert response.status_code == 200 and response.json() == {"data": {"__typename": "Query"}}
