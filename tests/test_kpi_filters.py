"""KPI filters of the campaign and creative lists, checked against totals summed in Python from the seeded rows."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest

from gateway.data.ids import from_global_id, to_global_id
from tests.conftest import Stores, gql
from tests.support.issuer import TestIssuer

CASES = 50
KPIS = ("roas", "spend", "ctr", "cpa", "conversions")
OPERATORS = ("eq", "gt", "gte", "lt", "lte")
LIST = """query($first: Int, $after: String, $filter: {kind}Filter, $orderBy: [{kind}Order!], $range: DateRange) {{
  organization {{ {field}(first: $first, after: $after, filter: $filter, orderBy: $orderBy, metricsRange: $range) {{
    totalCount countsByStatus {{ status count }} pageInfo {{ hasNextPage endCursor }} edges {{ node {{ id }} }} }} }} }}"""
LISTS = {
    "campaigns": LIST.format(kind="Campaign", field="campaigns"),
    "creatives": LIST.format(kind="Creative", field="creatives"),
}


@dataclass
class Seeded:
    """Acme's campaigns and creatives (id -> status, parent) and their daily figures, read as the database owner."""

    objects: dict[str, dict[UUID, tuple[str, UUID]]]
    days: dict[str, dict[UUID, list[tuple[dt.date, int, int, Decimal, int, Decimal]]]]

    def kpis(self, kind: str, key: UUID, first: dt.date, last: dt.date) -> dict[str, Decimal | int | None]:
        """The KPIs as the list filters define them: sums 0 without metrics, a ratio over zero is None."""
        impressions = clicks = conversions = 0
        spend = revenue = Decimal(0)
        for day, i, c, s, v, r in self.days[kind].get(key, ()):
            if first <= day <= last:
                impressions, clicks, spend, conversions, revenue = (
                    impressions + i,
                    clicks + c,
                    spend + s,
                    conversions + v,
                    revenue + r,
                )
        return {
            "spend": spend,
            "conversions": conversions,
            "roas": _round(revenue / spend, 4) if spend else None,
            "ctr": _round(Decimal(clicks) / impressions, 6) if impressions else None,
            "cpa": _round(spend / conversions, 2) if conversions else None,
        }


def _round(value: Decimal, places: int) -> Decimal:
    # PostgreSQL rounds numeric halves away from zero; every value here is positive.
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _holds(value: Decimal | int | None, op: str, bound: Decimal) -> bool:
    if value is None:
        return False
    return {
        "eq": value == bound,
        "gt": value > bound,
        "gte": value >= bound,
        "lt": value < bound,
        "lte": value <= bound,
    }[op]


@pytest.fixture
async def acme(seeded: Stores) -> AsyncIterator[Seeded]:
    conn = await asyncpg.connect(seeded.database_url)
    try:
        org = await conn.fetchval("SELECT id FROM organizations WHERE slug = 'acme'")
        objects: dict[str, dict[UUID, tuple[str, UUID]]] = {
            "campaigns": {
                r["id"]: (r["status"], r["channel_id"])
                for r in await conn.fetch(
                    "SELECT id, status, channel_id FROM campaigns WHERE organization_id = $1", org
                )
            },
            "creatives": {
                r["id"]: (r["status"], r["campaign_id"])
                for r in await conn.fetch(
                    "SELECT id, status, campaign_id FROM creatives WHERE organization_id = $1", org
                )
            },
        }
        days: dict[str, dict[UUID, list[Any]]] = {"campaigns": defaultdict(list), "creatives": defaultdict(list)}
        for r in await conn.fetch(
            "SELECT campaign_id, creative_id, date, impressions, clicks, spend, conversions, revenue "
            "FROM daily_metrics WHERE organization_id = $1",
            org,
        ):
            figures = (r["date"], r["impressions"], r["clicks"], r["spend"], r["conversions"], r["revenue"])
            days["creatives"][r["creative_id"]].append(figures)
            days["campaigns"][r["campaign_id"]].append(figures)
        yield Seeded(objects, days)
    finally:
        await conn.close()


async def walk(
    client: httpx.AsyncClient, token: str, kind: str, size: int, **variables: Any
) -> tuple[list[str], dict[str, Any]]:
    """Every page of the list in turn: the ids in order, and the first page's connection."""
    found: list[str] = []
    first_page: dict[str, Any] = {}
    after = None
    while True:
        body = await gql(client, LISTS[kind], {**variables, "first": size, "after": after}, token=token)
        assert "errors" not in body, body["errors"]
        page = body["data"]["organization"][kind]
        first_page = first_page or page
        found += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return found, first_page
        after = page["pageInfo"]["endCursor"]


def _threshold(rng: random.Random, kpi: str, values: list[Decimal | int | None]) -> Any:
    """A bound taken from the values themselves (so `eq` and the edges of `gt`/`gte` are exercised), as sent."""
    known = [v for v in values if v is not None] or [Decimal(0)]
    picked = rng.choice(known)
    if kpi in ("roas", "ctr"):
        return float(picked)
    if kpi == "conversions":
        return int(picked)
    return str(picked)


async def test_kpi_filters_agree_with_sums_over_the_seeded_rows_and_pages_are_stable(
    client: httpx.AsyncClient, issuer: TestIssuer, acme: Seeded
) -> None:
    rng = random.Random(20261206)
    token = issuer.token("acme", "analyst")
    today = dt.datetime.now(dt.UTC).date()
    kinds = ["campaigns"] * 35 + ["creatives"] * 15
    for case in range(CASES):
        kind = kinds[case]
        first = today - dt.timedelta(days=rng.randint(0, 100))
        last = first + dt.timedelta(days=rng.randint(0, 40))
        metrics_range = None if rng.random() < 0.1 else {"from": str(first), "to": str(last)}
        if metrics_range is None:
            first, last = today - dt.timedelta(days=29), today
        totals = {key: acme.kpis(kind, key, first, last) for key in acme.objects[kind]}
        bounds: dict[str, dict[str, Any]] = {}
        for kpi in rng.sample(KPIS, rng.choice([1, 1, 2])):
            op = rng.choice(OPERATORS)
            bounds[kpi] = {op: _threshold(rng, kpi, [t[kpi] for t in totals.values()])}
        flt: dict[str, Any] = {"kpi": bounds}
        statuses = None
        if rng.random() < 0.3:
            statuses = rng.sample(["ACTIVE", "PAUSED", "ARCHIVED"], 2)
            flt["status"] = statuses
        order = rng.choice([None, "NAME", "SPEND", "ROAS", "CTR", "CONVERSIONS"])
        order_by = [{"field": order, "direction": rng.choice(["ASC", "DESC"])}] if order else None

        expected = {
            to_global_id(kind[:-1].capitalize(), key)
            for key, t in totals.items()
            if all(_holds(t[kpi], op, Decimal(str(v))) for kpi, c in bounds.items() for op, v in c.items())
            and (statuses is None or acme.objects[kind][key][0].upper() in statuses)
        }
        size = rng.randint(7, 40)
        walked, page = await walk(client, token, kind, size, filter=flt, orderBy=order_by, range=metrics_range)
        context = f"case {case}: {kind} {flt} {order_by} {metrics_range}"
        assert len(walked) == len(set(walked)), context  # no row twice
        assert set(walked) == expected, context  # no row missing, none extra
        assert page["totalCount"] == len(expected), context
        if statuses is None:
            assert sum(c["count"] for c in page["countsByStatus"]) == len(expected), context
        if kind == "campaigns":  # all of them fit one page: the walk is that page, cut
            one, _ = await walk(client, token, kind, 100, filter=flt, orderBy=order_by, range=metrics_range)
            assert walked == one, context


CHILDREN = """query($id: ID!, $filter: CreativeFilter, $range: DateRange) { node(id: $id) { ... on Campaign {
  creatives(first: 100, filter: $filter, metricsRange: $range) { totalCount countsByStatus { status count }
    edges { node { id } } } } } }"""


async def test_a_campaigns_creatives_filter_by_kpis_like_the_organizations_list(
    client: httpx.AsyncClient, issuer: TestIssuer, acme: Seeded
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    first, last = today - dt.timedelta(days=13), today - dt.timedelta(days=7)
    campaign = sorted(acme.objects["campaigns"])[3]
    mine = [k for k, (_, parent) in acme.objects["creatives"].items() if parent == campaign]
    flt = {"kpi": {"roas": {"lt": 1.0}, "spend": {"gt": "0"}}}
    body = await gql(
        client,
        CHILDREN,
        {"id": to_global_id("Campaign", campaign), "filter": flt, "range": {"from": str(first), "to": str(last)}},
        token=issuer.token("acme", "viewer"),
    )
    assert "errors" not in body, body
    found = body["data"]["node"]["creatives"]
    expected = set()
    for key in mine:
        kpis = acme.kpis("creatives", key, first, last)
        if kpis["roas"] is not None and kpis["roas"] < 1 and kpis["spend"] > 0:
            expected.add(to_global_id("Creative", key))
    assert {e["node"]["id"] for e in found["edges"]} == expected
    assert found["totalCount"] == len(expected) == sum(c["count"] for c in found["countsByStatus"])


async def test_a_ratio_over_nothing_matches_no_bound_and_a_sum_over_nothing_is_zero(
    client: httpx.AsyncClient, issuer: TestIssuer, acme: Seeded
) -> None:
    token = issuer.token("acme", "analyst")
    future = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=10)
    days = {"from": str(future), "to": str(future)}  # no metrics at all
    for flt in ({"roas": {"gte": 0}}, {"ctr": {"lte": 1}}, {"cpa": {"gte": "0"}}, {"spend": {"gt": "0"}}):
        walked, _ = await walk(client, token, "campaigns", 100, filter={"kpi": flt}, range=days)
        assert walked == [], flt
    walked, _ = await walk(client, token, "campaigns", 100, filter={"kpi": {"spend": {"eq": "0"}}}, range=days)
    assert len(walked) == len(acme.objects["campaigns"])
    walked, _ = await walk(client, token, "campaigns", 100, filter={"kpi": {"conversions": {"lte": 0}}}, range=days)
    assert len(walked) == len(acme.objects["campaigns"])


async def test_kpi_filters_see_only_the_callers_organization(
    client: httpx.AsyncClient, issuer: TestIssuer, acme: Seeded
) -> None:
    walked, _ = await walk(
        client, issuer.token("globex", "analyst"), "creatives", 100, filter={"kpi": {"spend": {"gte": "0"}}}
    )
    assert walked and not {UUID(from_global_id(i)[1]) for i in walked} & set(acme.objects["creatives"])


async def test_kpi_filters_refuse_a_range_too_long_or_reversed(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    token = issuer.token("acme", "analyst")
    for days in ({"from": "2020-01-01", "to": "2026-01-01"}, {"from": "2026-01-02", "to": "2026-01-01"}):
        body = await gql(
            client, LISTS["campaigns"], {"first": 5, "filter": {"kpi": {"roas": {"lt": 1}}}, "range": days}, token=token
        )
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
