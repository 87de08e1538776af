"""Request limits: depth, aliases, tokens, and introspection off in production by default."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gateway.app import create_app
from tests.conftest import Stores, gateway_settings, gql
from tests.support.issuer import TestIssuer
from tests.support.servers import ServerThread


async def test_too_deep_query(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    inner = "name"
    for _ in range(4):  # each round adds four levels: creatives > edges > node > campaign
        inner = f"creatives {{ edges {{ node {{ campaign {{ {inner} }} }} }} }}"
    deep = f"{{ organization {{ campaigns {{ edges {{ node {{ {inner} }} }} }} }} }}"
    body = await gql(client, deep, token=issuer.token())
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX" and body.get("data") is None


async def test_too_many_aliases(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    query = "{ " + " ".join(f"a{i}: organization {{ name }}" for i in range(31)) + " }"
    body = await gql(client, query, token=issuer.token())
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_too_many_tokens(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    query = "{ organization { " + " ".join(["name"] * 6000) + " } }"
    response = await client.post(
        "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {issuer.token()}"}
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_too_costly_query(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    fan_out = "campaigns(first: 100) { edges { node { creatives(first: 100) { edges { node { name } } } } } }"
    query = "{ " + " ".join(f"a{i}: organization {{ {fan_out} }}" for i in range(5)) + " }"
    body = await gql(client, query, token=issuer.token())
    error = body["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX" and error["extensions"]["cost"] > 50_000
    assert body.get("data") is None
    # Variables count too: the same page sizes passed as variables are refused alike.
    body = await gql(
        client,
        "query($n: Int!) { a: organization { campaigns(first: $n) { edges { node { creatives(first: $n) { edges { node { name } } } } } } }"
        " b: organization { campaigns(first: $n) { edges { node { creatives(first: $n) { edges { node { name } } } } } } } }",
        {"n": 100},
        token=issuer.token(),
    )
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    small = await gql(
        client,
        "{ organization { campaigns(first: 10) { edges { node { creatives(first: 10) { totalCount } } } } } }",
        token=issuer.token(),
    )
    assert "errors" not in small


@pytest.fixture(scope="module")
def production_gateway(seeded: Stores, issuer: TestIssuer) -> Iterator[ServerThread]:
    server = ServerThread(create_app(gateway_settings(seeded, issuer, introspection=None))).start()
    yield server
    server.stop()


async def test_introspection_is_off_in_production_by_default(
    production_gateway: ServerThread, issuer: TestIssuer
) -> None:
    async with httpx.AsyncClient(base_url=production_gateway.url, timeout=30) as http:
        body = await gql(http, "{ __schema { types { name } } }", token=issuer.token())
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        ok = await gql(http, "{ organization { name } }", token=issuer.token())
        assert ok["data"]["organization"]["name"] == "Acme Corporation"


@pytest.fixture(scope="module")
def impatient_gateway(seeded: Stores, issuer: TestIssuer) -> Iterator[ServerThread]:
    server = ServerThread(
        create_app(gateway_settings(seeded, issuer, request_timeout_s=0.05, max_cost=10_000_000))
    ).start()
    yield server
    server.stop()


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")  # graphql-core, when cancelled
async def test_request_timeout(impatient_gateway: ServerThread, issuer: TestIssuer) -> None:
    heavy = """query($from: Date!, $to: Date!) { organization { campaigns(first: 100) { edges { node {
      creatives(first: 100) { edges { node { dailyMetrics(from: $from, to: $to) { date } } } } } } } } }"""
    async with httpx.AsyncClient(base_url=impatient_gateway.url, timeout=30) as http:
        response = await http.post(
            "/graphql",
            json={"query": heavy, "variables": {"from": "2020-01-01", "to": "2021-12-31"}},
            headers={"Authorization": f"Bearer {issuer.token()}"},
        )
        assert response.status_code == 504
        assert "took longer" in response.json()["errors"][0]["message"]
        # The gateway is fine afterwards.
        assert (await http.get("/readyz")).status_code == 200
