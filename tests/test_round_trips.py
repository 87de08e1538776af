"""Bounded database work: round trips per store depend on query depth, not list sizes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import gql
from tests.support.issuer import TestIssuer

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
