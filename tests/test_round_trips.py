"""Bounded database work: round trips per store depend on query depth, not list sizes."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from gateway.http.app import create_app
from gateway.ops.seed import oid, uid
from tests.conftest import Stores, gateway_settings, gql
from tests.support.issuer import TestIssuer
from tests.support.servers import ServerThread

# The dashboard query; the benchmark runs the same file.
DASHBOARD = (Path(__file__).resolve().parents[1] / "bench" / "dashboard.graphql").read_text()

TODAY = dt.datetime.now(dt.UTC).date()


async def _traced(client: httpx.AsyncClient, token: str, n: int, m: int) -> tuple[dict[str, Any], dict[str, Any]]:
    variables = {"n": n, "m": m, "from": str(TODAY - dt.timedelta(days=29)), "to": str(TODAY)}
    body = await gql(client, DASHBOARD, variables, token=token, headers={"X-Omnify-Debug": "stores"})
    assert "errors" not in body, body["errors"]
    return body["data"], body["extensions"]["stores"]


async def test_dashboard_round_trips_do_not_grow_with_page_sizes(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    token = issuer.token("acme", "admin")
    small, small_trace = await _traced(client, token, 5, 5)
    large, large_trace = await _traced(client, token, 50, 20)
    campaigns = large["organization"]["campaigns"]["edges"]
    assert len(small["organization"]["campaigns"]["edges"]) == 5 and len(campaigns) == 50
    assert sum(len(c["node"]["creatives"]["edges"]) for c in campaigns) == 50 * 20
    # The weekly series by channel: every channel and currency has every week of the range.
    weekly = large["organization"]["weekly"]
    weeks = sorted({w["period"] for w in weekly})
    groups = {(w["channel"]["platform"], w["performance"]["spend"]["currency"]) for w in weekly}
    assert len(weeks) in (5, 6) and len(groups) >= 6 and len(weekly) == len(weeks) * len(groups)
    assert all(dt.date.fromisoformat(week).weekday() == 0 for week in weeks)
    assert weekly == small["organization"]["weekly"]
    # The dashboard header: counts by status of four lists, without fetching them.
    org = large["organization"]
    headers = {name: org[name]["countsByStatus"] for name in ("campaigns", "creatives", "syncJobs", "executions")}
    assert sum(c["count"] for c in headers["campaigns"]) == org["campaigns"]["totalCount"]
    assert all(c["count"] > 0 for c in headers["creatives"]) and len(headers["syncJobs"]) == 4
    assert headers == {name: small["organization"][name]["countsByStatus"] for name in headers}
    workflows = large["organization"]["workflows"]["edges"]
    assert workflows and all(len(w["node"]["executions"]["edges"]) == 5 for w in workflows)
    for store in ("postgres", "mongo"):
        assert small_trace[store]["roundTrips"] == large_trace[store]["roundTrips"], (small_trace, large_trace)
    # The bound documented in docs/queries.md: one statement per level and relationship.
    assert large_trace["postgres"]["roundTrips"] <= 12
    assert large_trace["mongo"]["roundTrips"] <= 4


async def test_store_trace_needs_privilege_outside_dev(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    body = await gql(
        client, "{ organization { name } }", token=issuer.token("acme", "analyst"), headers={"X-Omnify-Debug": "stores"}
    )
    assert "stores" not in (body.get("extensions") or {})
    body = await gql(
        client, "{ organization { name } }", token=issuer.token("acme", "owner"), headers={"X-Omnify-Debug": "stores"}
    )
    assert set(body["extensions"]["stores"]) == {"postgres", "mongo"}


CAMPAIGNS = (Path(__file__).resolve().parents[1] / "bench" / "campaigns.graphql").read_text()
TWO_STATEMENTS = "{ organization { campaigns(first: 3) { edges { node { id name } } } creatives(first: 2) { edges { node { id } } } } }"


@pytest.fixture(scope="module")
def planned(seeded: Stores, issuer: TestIssuer) -> Iterator[ServerThread]:
    """A gateway answering with the planned executor only (the suite's compares both executors in one snapshot)."""
    server = ServerThread(create_app(gateway_settings(seeded, issuer, executor="planned"))).start()
    yield server
    server.stop()


async def test_a_read_enters_its_tenancy_with_its_first_statement(
    planned: ServerThread, client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    """A page PostgreSQL writes as the request's only statement: one round trip enters the tenancy and reads it,
    in a transaction of its own, and one more resets the session on its way back to the pool (nothing left to end).
    Two statements: `BEGIN` of the snapshot they share, the first entering the tenancy, the second, the reset."""
    async with httpx.AsyncClient(base_url=planned.url, timeout=30) as http:
        for slug in ("acme", "globex"):
            token = issuer.token(slug, "admin")
            for query, round_trips in ((CAMPAIGNS, 2), (TWO_STATEMENTS, 4)):
                body = await gql(http, query, token=token, headers={"X-Omnify-Debug": "stores"})
                assert "errors" not in body, body["errors"]
                assert body["extensions"]["stores"]["postgres"]["roundTrips"] == round_trips, (query, body)
                # The same answer as both executors in one snapshot give (the suite's gateway compares them).
                compared = await gql(client, query, token=token)
                assert body["data"] == compared["data"]
            campaigns = body["data"]["organization"]["campaigns"]["edges"]
            assert campaigns and all(edge["node"]["id"] for edge in campaigns)


async def test_a_statement_alone_never_shows_its_tenancy(
    planned: ServerThread, seeded: Stores, issuer: TestIssuer
) -> None:
    """Pages read alone enter the tenancy as they read: the claim is a bound parameter there too, never text
    that `pg_stat_activity` shows the login's other sessions."""
    orgs = ("acme", "globex", "initech")
    secrets = {str(uid("org", slug)) for slug in orgs} | {str(oid("org", slug)) for slug in orgs}
    tokens = [issuer.token(slug, "admin") for slug in orgs]
    query = "{ organization { campaigns(first: 3) { edges { node { id name } } } } }"
    watcher = await asyncpg.connect(seeded.app_url)
    seen: set[str] = set()
    try:
        async with httpx.AsyncClient(base_url=planned.url, timeout=30) as http:
            burst = asyncio.gather(*(gql(http, query, token=tokens[i % 3]) for i in range(90)))
            while not burst.done():
                rows = await watcher.fetch(
                    "SELECT query FROM pg_stat_activity WHERE usename = current_user AND pid <> pg_backend_pid()"
                )
                seen.update(r["query"] for r in rows)
            assert all("errors" not in body for body in await burst)
    finally:
        await watcher.close()
    assert any("fence_enter_checked" in q for q in seen), seen
    leaks = [q for q in seen if any(s in q for s in secrets) or re.search(r"[0-9a-f]{64}", q)]
    assert leaks == []
