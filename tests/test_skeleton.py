"""The walking skeleton: one query across both stores, and every way a token is refused."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from tests.conftest import gql
from tests.support.issuer import TestIssuer, new_key

CROSS_STORE = """
{ viewer { __typename } organization { name slug plan subscription { status }
  campaigns(first: 5) { totalCount edges { node { name } } } } }
"""


async def test_cross_store_query(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    body = await gql(client, CROSS_STORE, token=issuer.token("acme", "analyst"))
    assert "errors" not in body, body
    org = body["data"]["organization"]
    assert body["data"]["viewer"] == {"__typename": "Viewer"}
    assert (org["name"], org["slug"], org["plan"]) == ("Acme Corporation", "acme", "ENTERPRISE")  # MongoDB
    assert org["subscription"] == {"status": "ACTIVE"}  # MongoDB
    assert org["campaigns"]["totalCount"] == 60  # PostgreSQL
    names = [e["node"]["name"] for e in org["campaigns"]["edges"]]
    assert len(names) == 5 and names == sorted(names)


async def test_each_token_sees_its_own_organization(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    body = await gql(client, "{ organization { slug plan } }", token=issuer.token("globex", "viewer"))
    assert body["data"]["organization"] == {"slug": "globex", "plan": "GROWTH"}


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _alg_none(issuer: TestIssuer) -> str:
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(issuer.claims())}."


def _hs256_with_public_key(issuer: TestIssuer) -> str:
    rsa = issuer.keys[1]
    secret = json.dumps(rsa.as_dict(private=False)).encode()
    return jwt.encode(
        {"alg": "HS256", "kid": rsa.kid}, issuer.claims(), OctKey.import_key(secret), algorithms=["HS256"]
    )


REJECTED = {
    "garbage": lambda i: "not-a-token",
    "three garbage segments": lambda i: "aaa.bbb.ccc",
    "signed by another key": lambda i: i.token(key=new_key("EC")),
    "another key reusing a known kid": lambda i: i.token(key=new_key("EC"), header={"kid": i.keys[0].kid}),
    "expired": lambda i: i.token(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200, nbf=int(time.time()) - 7200),
    "not yet valid": lambda i: i.token(nbf=int(time.time()) + 3600),
    "wrong audience": lambda i: i.token(aud="someone-else"),
    "wrong issuer": lambda i: i.token(iss="https://evil.example"),
    "alg none": _alg_none,
    "HS256 signed with the public key": _hs256_with_public_key,
    "tampered claims": lambda i: (lambda t: ".".join([t.split(".")[0], _b64(i.claims(org="globex")), t.split(".")[2]]))(
        i.token()
    ),
    "oversized": lambda i: i.token(padding="x" * 20_000),
}


@pytest.mark.parametrize("case", sorted(REJECTED))
async def test_rejected_tokens_get_401(client: httpx.AsyncClient, issuer: TestIssuer, case: str) -> None:
    token = REJECTED[case](issuer)
    response = await client.post(
        "/graphql", json={"query": "{ organization { name } }"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith('Bearer realm="omnify-gateway"')
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "data" not in body


async def test_missing_token_gets_401_without_error_code(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "{ organization { name } }"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="omnify-gateway"'
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_non_bearer_scheme_gets_401(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ organization { name } }"}, headers={"Authorization": f"Basic {issuer.token()}"}
    )
    assert response.status_code == 401


async def test_unknown_organization_is_forbidden(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    response = await client.post(
        "/graphql",
        json={"query": "{ organization { name } }"},
        headers={"Authorization": f"Bearer {issuer.token('nope')}"},
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_oversized_body_is_refused(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    query = "{ organization { name } }" + " " * 5_100_000
    response = await client.post(
        "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {issuer.token()}"}
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_malformed_graphql_is_bad_user_input(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ organization { name "}, headers={"Authorization": f"Bearer {issuer.token()}"}
    )
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body.get("data") is None


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


async def test_graphiql_page_for_browsers(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200 and "graphiql" in response.text.lower()
    # Without a login client the page asks for a pasted token and offers no logout.
    assert "Not logged in" in response.text and "/auth/logout" not in response.text
    assert "default-src 'none'" in response.headers["content-security-policy"]


async def test_metrics_count_requests_and_round_trips(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    await client.post(
        "/graphql",
        json={"query": "query MetricsProbe { organization { name plan campaigns(first: 1) { totalCount } } }"},
        headers={"Authorization": f"Bearer {issuer.token()}"},
    )
    # Recorded as the request finishes, which can be just after its response was sent.
    for _ in range(50):
        text = (await client.get("/metrics")).text
        if 'operation="MetricsProbe"' in text:
            break
        await asyncio.sleep(0.05)
    assert 'omnify_graphql_requests_total{operation="MetricsProbe",outcome="ok"}' in text
    assert 'omnify_graphql_request_seconds_bucket{le="0.005",operation="MetricsProbe"}' in text
    assert 'omnify_store_round_trips_per_request_count{store="postgres"}' in text
    assert 'omnify_pg_pool_connections{state="max"}' in text


async def test_bad_scalar_literal_is_bad_user_input(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    body = (
        await client.post(
            "/graphql",
            json={"query": '{ organization { performance(from: "nope", to: "2026-01-01") { currency } } }'},
            headers={"Authorization": f"Bearer {issuer.token()}"},
        )
    ).json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_token_content_is_never_echoed_into_headers(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    for alg in ('x", error="spoof', "中"):
        forged = f"{_b64({'alg': alg, 'typ': 'JWT'})}.{_b64(issuer.claims())}.c2ln"
        response = await client.post(
            "/graphql", json={"query": "{ organization { name } }"}, headers={"Authorization": f"Bearer {forged}"}
        )
        assert response.status_code == 401
        assert "spoof" not in response.headers["www-authenticate"]


async def test_deeply_nested_variables_are_refused_as_json(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    nested = "[" * 5000 + "]" * 5000
    body = '{"query": "{ organization { name } }", "variables": {"x": ' + nested + "}}"
    response = await client.post(
        "/graphql",
        content=body,
        headers={"Authorization": f"Bearer {issuer.token()}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_subscription_over_http_is_told_to_use_the_websocket(
    client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    headers = {"Authorization": f"Bearer {issuer.token()}"}
    subscription = "subscription { actionLogged { id } }"
    for response in (
        await client.post("/graphql", json={"query": subscription}, headers=headers),
        await client.get("/graphql", params={"query": subscription}, headers=headers),
    ):
        assert response.status_code == 400, response.text
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT" and "WebSocket" in error["message"]
    mutation = await client.get("/graphql", params={"query": "mutation { __typename }"}, headers=headers)
    assert mutation.status_code == 405 and "over GET" in mutation.json()["errors"][0]["message"]
