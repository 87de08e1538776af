"""Request limits: depth, aliases, tokens, cost, their settings, and introspection off in production by default.

The limits on a document's shape and the time budget are tested in test_document_limits.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gateway.core.config import ConfigError, load_settings
from gateway.http.app import create_app
from tests.conftest import Stores, gateway_settings, gql
from tests.support.issuer import TestIssuer
from tests.support.servers import ServerThread


async def test_too_deep_query(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    inner = "name"
    for _ in range(4):  # each round adds four levels: creatives > edges > node > campaign
        inner = f"creatives {{ edges {{ node {{ campaign {{ {inner} }} }} }} }}"
    deep = f"{{ organization {{ campaigns {{ edges {{ node {{ {inner} }} }} }} }} }}"
    body = await gql(client, deep, token=issuer.token())
    error = body["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX" and body.get("data") is None
    assert "maximum operation depth of 12" in error["message"] and error["extensions"]["limit"] == "depth"
    assert error["locations"], error  # where the first field past the limit is


async def test_too_many_aliases(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    query = "{ " + " ".join(f"a{i}: organization {{ name }}" for i in range(31)) + " }"
    body = await gql(client, query, token=issuer.token())
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "more than 30 aliases" in body["errors"][0]["message"]
    # Aliases inside a fragment count once per spread: three aliased fields and 3 × 10 in the fragment.
    spread = "{ a: organization { ...A } b: organization { ...A } c: organization { ...A } }\n"
    fragment = "fragment A on Organization { " + " ".join(f"n{i}: name" for i in range(10)) + " }"
    body = await gql(client, spread + fragment, token=issuer.token())
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX", body


def test_document_limit_settings_are_checked() -> None:
    env = {
        "MONGO_URL": "mongodb://localhost:27017",
        "DATABASE_URL": "postgresql://gateway@localhost/brain",
        "DATABASE_SYSTEM_URL": "postgresql://gateway_system@localhost/brain",
        "OIDC_ISSUER": "https://issuer.example.com",
        "OIDC_AUDIENCE": "omnify",
    }
    settings = load_settings(env)
    assert (settings.max_tokens, settings.max_document_chars, settings.max_fields) == (2500, 64_000, 800)
    assert (settings.document_budget_ms, settings.loop_warn_s, settings.loop_kill_s) == (250, 1.0, 30.0)
    with pytest.raises(ConfigError) as caught:
        load_settings({**env, "OMNIFY_DOCUMENT_BUDGET_MS": "5", "OMNIFY_LOOP_WARN_S": "5", "OMNIFY_LOOP_KILL_S": "2"})
    assert "OMNIFY_DOCUMENT_BUDGET_MS=5 must be at least 10" in str(caught.value)
    assert "OMNIFY_LOOP_KILL_S must be greater than OMNIFY_LOOP_WARN_S" in str(caught.value)


async def test_too_many_tokens(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    query = "{ organization { " + " ".join(["name"] * 3000) + " } }"
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
