"""Isolation between organizations, enforced by the gateway and, underneath, by PostgreSQL RLS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.ops.seed import uid
from gateway.stores import postgres
from gateway.stores.fence import FenceKey
from tests.conftest import Stores, gql
from tests.support import fence
from tests.support.issuer import TestIssuer
from tests.support.servers import ServerThread

IDS_QUERY = """{ organization { id name
  channels(first: 3) { edges { node { id name } } }
  campaigns(first: 3) { edges { node { id name creatives(first: 2) { edges { node { id name } } } } } }
  cohorts(first: 2) { edges { node { id } } } brainStates(first: 2) { edges { node { id } } }
  credentials(first: 2) { edges { node { id } } } syncJobs(first: 2) { edges { node { id } } }
  actionLogs(first: 2) { edges { node { id } } } } }"""

NODE = "query($id: ID!) { node(id: $id) { id __typename } }"


def _collect_ids(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "id" and isinstance(item, str):
                found.add(item)
            else:
                found |= _collect_ids(item)
    elif isinstance(value, list):
        for item in value:
            found |= _collect_ids(item)
    return found


@pytest.fixture(scope="module")
def tenant_ids(gateway: ServerThread, issuer: TestIssuer) -> dict[str, set[str]]:
    ids: dict[str, set[str]] = {}
    with httpx.Client(base_url=gateway.url, timeout=30) as http:
        for org in ("acme", "globex"):
            body = http.post(
                "/graphql",
                json={"query": IDS_QUERY},
                headers={"Authorization": f"Bearer {issuer.token(org, 'admin')}"},
            ).json()
            ids[org] = _collect_ids(body["data"])
    assert len(ids["acme"]) > 20 and not ids["acme"] & ids["globex"]
    return ids


async def test_other_organizations_ids_never_resolve(
    client: httpx.AsyncClient, issuer: TestIssuer, tenant_ids: dict[str, set[str]]
) -> None:
    token = issuer.token("globex", "owner")
    for global_id in sorted(tenant_ids["acme"]):
        body = await gql(client, NODE, {"id": global_id}, token=token)
        assert body["data"]["node"] is None, global_id


async def test_filters_with_foreign_ids_return_nothing(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    acme = (
        await gql(
            client,
            "{ organization { channels(first: 1) { edges { node { id } } } campaigns(first: 1) { edges { node { id } } } } }",
            token=issuer.token("acme", "analyst"),
        )
    )["data"]["organization"]
    channel = acme["channels"]["edges"][0]["node"]["id"]
    campaign = acme["campaigns"]["edges"][0]["node"]["id"]
    body = await gql(
        client,
        """query($c: ID!, $k: ID!) { organization {
        campaigns(filter: {channelId: $c}) { totalCount } creatives(filter: {campaignId: $k}) { totalCount } cohorts(filter: {channelId: $c}) { totalCount } } }""",
        {"c": channel, "k": campaign},
        token=issuer.token("globex", "analyst"),
    )
    assert body["data"]["organization"] == {
        "campaigns": {"totalCount": 0},
        "creatives": {"totalCount": 0},
        "cohorts": {"totalCount": 0},
    }


@pytest.fixture
def gateway_filter_points_at(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Switch off the gateway-side tenant filter: its SQL now names `victim`, while RLS stays keyed to `caller`."""

    original_claim = FenceKey.claim

    def arrange(victim: UUID, rls_org: UUID) -> None:
        def reader(self: postgres.PostgresStore, organization_id: UUID) -> postgres.TenantReader:
            return postgres.TenantReader(self, victim)

        def claim(self: FenceKey, organization_id: UUID, enterprise_id: str | None, pid: int) -> str:
            return original_claim(self, rls_org, enterprise_id, pid)

        monkeypatch.setattr(postgres.PostgresStore, "reader", reader)
        monkeypatch.setattr(FenceKey, "claim", claim)

    yield arrange


BRAIN_QUERY = """query($from: Date!, $to: Date!) { organization {
  campaigns(first: 5) { totalCount edges { node { name } } } creatives(first: 5) { totalCount }
  channels { totalCount } cohorts { totalCount } brainStates { totalCount } latestBrainStates { version }
  credentials { totalCount } syncJobs { totalCount } actionLogs { totalCount }
  performance(from: $from, to: $to) { impressions } } }"""
RANGE = {"from": "2020-01-01", "to": "2021-12-31"}


async def test_rls_hides_other_tenants_rows_when_the_gateway_filter_is_off(
    client: httpx.AsyncClient, issuer: TestIssuer, gateway_filter_points_at: Any
) -> None:
    acme, globex = uid("org", "acme"), uid("org", "globex")
    wide = {"from": "2000-01-01", "to": "2001-12-31"}
    gateway_filter_points_at(victim=globex, rls_org=acme)
    body = await gql(client, BRAIN_QUERY, wide, token=issuer.token("acme", "admin"))
    assert "errors" not in body, body
    org = body["data"]["organization"]
    assert all(
        v == {"totalCount": 0} for k, v in org.items() if k not in ("campaigns", "latestBrainStates", "performance")
    )
    assert org["campaigns"] == {"totalCount": 0, "edges": []}
    assert org["latestBrainStates"] == [] and org["performance"] == []
    # The control: keyed to the victim, RLS shows the victim's rows, so the assertion above can fail.
    gateway_filter_points_at(victim=globex, rls_org=globex)
    body = await gql(client, BRAIN_QUERY, wide, token=issuer.token("acme", "admin"))
    assert body["data"]["organization"]["campaigns"]["totalCount"] == 60


async def test_app_role_sees_nothing_without_an_organization(seeded: Stores) -> None:
    conn = await asyncpg.connect(seeded.app_url)  # the gateway's login, as every request uses it
    try:
        assert await conn.fetchval("SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user") is False
        async with conn.transaction():
            assert await conn.fetchval("SELECT count(*) FROM campaigns") == 0
            await fence.enter(conn, await fence.fence_key(seeded.database_url), uid("org", "acme"))
            assert await conn.fetchval("SELECT count(*) FROM campaigns") == 60
            assert await conn.fetchval("SELECT count(DISTINCT organization_id) FROM daily_metrics") == 1
            # The gateway's own tables are fenced by the enterprise id, which is not set here.
            assert await conn.fetchval("SELECT count(*) FROM idempotency_keys") == 0
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetchval("SELECT encrypted_secret FROM api_credentials LIMIT 1")
    finally:
        await conn.close()


# --- property: no query, with any mix of ids, ever shows another tenant's data ----------------

FIELD_QUERIES = [
    "campaigns(first: {n}, filter: {{channelId: {id}}}) {{ edges {{ node {{ id name }} }} }}",
    "creatives(first: {n}, filter: {{campaignId: {id}}}) {{ edges {{ node {{ id name }} }} }}",
    "cohorts(first: {n}, filter: {{channelId: {id}}}) {{ edges {{ node {{ id }} }} }}",
    "campaigns(first: {n}) {{ edges {{ node {{ id name channel {{ id name }} }} }} }}",
    "channels(first: {n}) {{ edges {{ node {{ id name campaigns(first: 2) {{ edges {{ node {{ id name }} }} }} }} }} }}",
]


@st.composite
def cross_tenant_query(draw: st.DrawFn, ids: dict[str, list[str]]) -> tuple[str, str]:
    caller = draw(st.sampled_from(["acme", "globex"]))
    pool = ids["acme"] + ids["globex"]
    parts = []
    for i in range(draw(st.integers(1, 4))):
        chosen = draw(st.sampled_from(pool))
        if draw(st.booleans()):
            parts.append(f"n{i}: node(id: {json.dumps(chosen)}) {{ id __typename }}")
        else:
            template = draw(st.sampled_from(FIELD_QUERIES))
            body = template.format(n=draw(st.integers(0, 5)), id=json.dumps(chosen))
            parts.append(f"organization {{ f{i}: {body} }}")
    return caller, "{ " + " ".join(parts) + " }"


def test_property_no_foreign_data_ever_appears(
    gateway: ServerThread, issuer: TestIssuer, tenant_ids: dict[str, set[str]]
) -> None:
    ids = {org: sorted(found) for org, found in tenant_ids.items()}
    tokens = {org: issuer.token(org, "admin") for org in ids}
    other = {"acme": "globex", "globex": "acme"}

    with httpx.Client(base_url=gateway.url, timeout=30) as http:

        @settings(
            max_examples=60,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(cross_tenant_query(ids))
        def check(case: tuple[str, str]) -> None:
            caller, query = case
            response = http.post(
                "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {tokens[caller]}"}
            )
            assert response.status_code == 200, response.text
            body = response.json()
            seen = _collect_ids(body.get("data"))
            assert not seen & tenant_ids[other[caller]], (query, seen & tenant_ids[other[caller]])
            for error in body.get("errors", []):
                assert error["extensions"]["code"] == "BAD_USER_INPUT", error  # e.g. an id of the wrong type

        check()
