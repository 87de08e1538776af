"""Performance in money: per currency, zero-filled time series, breakdowns and period comparison.

Known metrics are planted for three of acme's creatives in early 2024, long
before the seeded window, so every figure below is exact: creative A runs in a
USD campaign on Meta, B in a GBP campaign on Google and C in a USD campaign on
Google (Google's channel thus has money in two currencies).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest

from gateway.data.ids import to_global_id
from gateway.ops.migrations import load_migrations
from gateway.ops.seed import uid
from tests.conftest import Stores, gql
from tests.support.issuer import TestIssuer

ORG = "acme"
START, END = dt.date(2024, 1, 29), dt.date(2024, 3, 3)  # a Monday to a Sunday: 5 ISO weeks, 3 months
RANGE = {"from": START.isoformat(), "to": END.isoformat()}
CREATIVES = {"A": (0, "meta", "USD"), "B": (19, "google", "GBP"), "C": (10, "google", "USD")}  # campaign number
# creative, day, impressions, clicks, spend, conversions, revenue
ROWS = [
    ("A", "2024-01-10", 400, 20, "8.00", 2, "16.00"),  # in the previous range of START..END
    ("A", "2024-01-29", 1000, 50, "10.00", 5, "40.00"),
    ("A", "2024-02-01", 500, 10, "5.50", 0, "0.00"),
    ("A", "2024-03-02", 200, 0, "0.00", 0, "0.00"),
    ("B", "2024-02-05", 300, 30, "7.25", 3, "30.00"),
    ("C", "2024-02-12", 100, 5, "2.00", 0, "0.00"),
]
WEEKS = ["2024-01-29", "2024-02-05", "2024-02-12", "2024-02-19", "2024-02-26"]
MONTHS = ["2024-01-01", "2024-02-01", "2024-03-01"]

PERF = "currency impressions clicks spend { amount currency } revenue { amount } cpc { amount } cpa { amount } ctr roas"
BREAKDOWN = """query($from: Date!, $to: Date!, $by: PerformanceDimension, $interval: TimeInterval) { organization {
  performanceBreakdown(from: $from, to: $to, by: $by, interval: $interval) {
    period currency channel { id platform } campaign { id name } creative { id name } platform format
    performance { currency impressions spend { amount currency } ctr } } } }"""

# Few fields a row: the estimated cost counts each field of each row a breakdown may return.
LEAN = """query($from: Date!, $to: Date!, $by: PerformanceDimension, $interval: TimeInterval) { organization {
  performanceBreakdown(from: $from, to: $to, by: $by, interval: $interval) { period creative { id } performance { impressions } } } }"""


@pytest.fixture
async def planted(seeded: Stores) -> dict[str, dict[str, Any]]:
    """The three creatives (ids, campaign, channel, format), their metrics written as the owner."""
    conn = await asyncpg.connect(seeded.database_url)
    try:
        org = uid("org", ORG)
        found: dict[str, dict[str, Any]] = {}
        for name, (number, platform, currency) in CREATIVES.items():
            creative = await conn.fetchrow(
                "SELECT cr.id, cr.name, cr.format, cr.campaign_id, c.channel_id, c.currency FROM creatives cr "
                "JOIN campaigns c ON c.id = cr.campaign_id WHERE cr.id = $1",
                uid("creative", ORG, number, 0),
            )
            assert creative is not None and creative["currency"] == currency
            assert creative["channel_id"] == uid("channel", ORG, platform)
            found[name] = dict(creative)
        await conn.executemany(
            "INSERT INTO daily_metrics (organization_id, creative_id, date, campaign_id, channel_id, impressions, "
            "clicks, spend, conversions, revenue) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
            "ON CONFLICT (creative_id, date) DO NOTHING",
            [
                (
                    org,
                    found[c]["id"],
                    dt.date.fromisoformat(day),
                    found[c]["campaign_id"],
                    found[c]["channel_id"],
                    impressions,
                    clicks,
                    Decimal(spend),
                    conversions,
                    Decimal(revenue),
                )
                for c, day, impressions, clicks, spend, conversions, revenue in ROWS
            ],
        )
    finally:
        await conn.close()
    return found


async def data(client: httpx.AsyncClient, issuer: TestIssuer, query: str, **variables: Any) -> dict[str, Any]:
    body = await gql(client, query, variables, token=issuer.token(ORG, "analyst"))
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


async def breakdown(
    client: httpx.AsyncClient, issuer: TestIssuer, by: str | None = None, interval: str | None = None, **days: str
) -> list[dict[str, Any]]:
    answer = await data(client, issuer, BREAKDOWN, **{**RANGE, **days}, by=by, interval=interval)
    groups: list[dict[str, Any]] = answer["organization"]["performanceBreakdown"]
    return groups


def impressions(groups: list[dict[str, Any]], **match: Any) -> list[int]:
    """Impressions of the rows whose fields equal `match`, in the order answered."""
    return [g["performance"]["impressions"] for g in groups if all(g[k] == v for k, v in match.items())]


def gid(kind: str, raw: UUID) -> str:
    return to_global_id(kind, raw)


async def test_organization_channel_campaign_and_creative_performance_per_currency(
    client: httpx.AsyncClient, issuer: TestIssuer, planted: dict[str, dict[str, Any]]
) -> None:
    answer = await data(
        client,
        issuer,
        f"""query($from: Date!, $to: Date!, $google: ID!, $meta: ID!, $b: ID!, $a: ID!) {{
          organization {{ performance(from: $from, to: $to) {{ {PERF} }} }}
          google: node(id: $google) {{ ... on Channel {{ performance(from: $from, to: $to) {{ currency impressions spend {{ amount }} }} }} }}
          meta: node(id: $meta) {{ ... on Channel {{ performance(from: $from, to: $to) {{ currency impressions }} }} }}
          campaign: node(id: $b) {{ ... on Creative {{ campaign {{ performance(from: $from, to: $to) {{ currency impressions }} }} }} }}
          creative: node(id: $a) {{ ... on Creative {{ performance(from: $from, to: $to) {{ {PERF} }} }} }} }}""",
        **RANGE,
        google=gid("Channel", planted["B"]["channel_id"]),
        meta=gid("Channel", planted["A"]["channel_id"]),
        b=gid("Creative", planted["B"]["id"]),
        a=gid("Creative", planted["A"]["id"]),
    )
    gbp = {
        "currency": "GBP",
        "impressions": 300,
        "clicks": 30,
        "spend": {"amount": "7.25", "currency": "GBP"},
        "revenue": {"amount": "30.00"},
        "cpc": {"amount": "0.24"},  # 7.25 / 30
        "cpa": {"amount": "2.42"},  # 7.25 / 3
        "ctr": 0.1,
        "roas": 4.1379,  # 30 / 7.25
    }
    usd = {
        "currency": "USD",
        "impressions": 1800,
        "clicks": 65,
        "spend": {"amount": "17.50", "currency": "USD"},
        "revenue": {"amount": "40.00"},
        "cpc": {"amount": "0.27"},  # 17.50 / 65
        "cpa": {"amount": "3.50"},  # 17.50 / 5
        "ctr": 0.036111,  # 65 / 1800
        "roas": 2.2857,  # 40 / 17.50
    }
    assert answer["organization"]["performance"] == [gbp, usd]  # never one mixed sum, ordered by currency
    assert answer["google"]["performance"] == [
        {"currency": "GBP", "impressions": 300, "spend": {"amount": "7.25"}},
        {"currency": "USD", "impressions": 100, "spend": {"amount": "2.00"}},
    ]
    assert answer["meta"]["performance"] == [{"currency": "USD", "impressions": 1700}]
    assert answer["campaign"]["campaign"]["performance"] == {"currency": "GBP", "impressions": 300}
    assert answer["creative"]["performance"] == {
        "currency": "USD",
        "impressions": 1700,
        "clicks": 60,
        "spend": {"amount": "15.50", "currency": "USD"},
        "revenue": {"amount": "40.00"},
        "cpc": {"amount": "0.26"},
        "cpa": {"amount": "3.10"},
        "ctr": 0.035294,
        "roas": 2.5806,
    }


async def test_daily_series_has_every_day_with_exact_zeros(
    client: httpx.AsyncClient, issuer: TestIssuer, planted: dict[str, dict[str, Any]]
) -> None:
    groups = await breakdown(client, issuer, interval="DAY")
    days = [(START + dt.timedelta(days=n)).isoformat() for n in range(35)]
    assert [(g["currency"], g["period"]) for g in groups] == [("GBP", d) for d in days] + [("USD", d) for d in days]
    usd = {g["period"]: g["performance"] for g in groups if g["currency"] == "USD"}
    assert usd["2024-01-29"]["impressions"] == 1000 and usd["2024-02-12"]["impressions"] == 100
    # A day without metrics is there, with exact zeros and undefined ratios.
    assert usd["2024-01-30"] == {
        "currency": "USD",
        "impressions": 0,
        "spend": {"amount": "0.00", "currency": "USD"},
        "ctr": None,
    }
    assert sum(p["impressions"] for p in usd.values()) == 1800
    assert impressions(groups, currency="GBP") == [300 if d == "2024-02-05" else 0 for d in days]
    assert all(g[k] is None for g in groups for k in ("channel", "campaign", "creative", "platform", "format"))


async def test_weekly_and_monthly_series_start_periods_on_mondays_and_firsts(
    client: httpx.AsyncClient, issuer: TestIssuer, planted: dict[str, dict[str, Any]]
) -> None:
    weeks = await breakdown(client, issuer, interval="WEEK")
    assert [g["period"] for g in weeks] == WEEKS * 2
    assert impressions(weeks, currency="GBP") == [0, 300, 0, 0, 0]
    assert impressions(weeks, currency="USD") == [1500, 0, 100, 0, 200]
    # A range starting on a Wednesday: its first week counts only the days from then on.
    partial = await breakdown(client, issuer, interval="WEEK", **{"from": "2024-01-31", "to": "2024-02-06"})
    assert [(g["currency"], g["period"]) for g in partial] == [
        ("GBP", "2024-01-29"),
        ("GBP", "2024-02-05"),
        ("USD", "2024-01-29"),
        ("USD", "2024-02-05"),
    ]
    assert impressions(partial, currency="USD") == [500, 0]  # not the 1,000 of Monday 29 January
    months = await breakdown(client, issuer, interval="MONTH")
    assert [g["period"] for g in months] == MONTHS * 2
    assert impressions(months, currency="GBP") == [0, 300, 0]
    assert impressions(months, currency="USD") == [1000, 600, 200]  # 29 Jan; 1 and 12 Feb; 2 Mar
    # No metrics in the range: no group, hence no periods.
    assert await breakdown(client, issuer, interval="DAY", **{"from": "2023-06-01", "to": "2023-06-30"}) == []


async def test_breakdown_by_each_dimension(
    client: httpx.AsyncClient, issuer: TestIssuer, planted: dict[str, dict[str, Any]]
) -> None:
    a, b, c = planted["A"], planted["B"], planted["C"]
    by_channel = await breakdown(client, issuer, "CHANNEL")
    # Ordered by channel name (Google Ads, Meta Ads), then currency; Google has money in two currencies.
    assert [(g["channel"]["platform"], g["currency"], g["performance"]["impressions"]) for g in by_channel] == [
        ("GOOGLE", "GBP", 300),
        ("GOOGLE", "USD", 100),
        ("META", "USD", 1700),
    ]
    assert all(g["period"] is None and g["campaign"] is None and g["platform"] is None for g in by_channel)
    assert by_channel[0]["channel"]["id"] == gid("Channel", b["channel_id"])

    by_platform = await breakdown(client, issuer, "PLATFORM")
    assert [(g["platform"], g["currency"], g["performance"]["impressions"]) for g in by_platform] == [
        ("GOOGLE", "GBP", 300),
        ("GOOGLE", "USD", 100),
        ("META", "USD", 1700),
    ]
    assert all(g["channel"] is None for g in by_platform)

    for dimension, kind, field in (("CAMPAIGN", "Campaign", "campaign"), ("CREATIVE", "Creative", "creative")):
        groups = await breakdown(client, issuer, dimension)
        key = "campaign_id" if field == "campaign" else "id"
        expected = {
            (gid(kind, a[key]), "USD", 1700),
            (gid(kind, b[key]), "GBP", 300),
            (gid(kind, c[key]), "USD", 100),
        }
        assert {(g[field]["id"], g["currency"], g["performance"]["impressions"]) for g in groups} == expected
        names = [g[field]["name"] for g in groups]
        assert len(groups) == 3 and names == sorted(names)

    by_format = await breakdown(client, issuer, "FORMAT")
    expected_formats: dict[tuple[str, str], int] = {}
    for creative, total in (("A", 1700), ("B", 300), ("C", 100)):
        slot = (planted[creative]["format"].upper(), CREATIVES[creative][2])
        expected_formats[slot] = expected_formats.get(slot, 0) + total
    assert [(g["format"], g["currency"], g["performance"]["impressions"]) for g in by_format] == [
        (f, cur, n) for (f, cur), n in sorted(expected_formats.items(), key=lambda kv: (kv[0][0].lower(), kv[0][1]))
    ]


async def test_breakdown_by_dimension_and_interval_gives_every_group_every_period(
    client: httpx.AsyncClient, issuer: TestIssuer, planted: dict[str, dict[str, Any]]
) -> None:
    weekly = await breakdown(client, issuer, "CHANNEL", "WEEK")
    assert [(g["channel"]["platform"], g["currency"], g["period"]) for g in weekly] == [
        (platform, currency, week)
        for platform, currency in (("GOOGLE", "GBP"), ("GOOGLE", "USD"), ("META", "USD"))
        for week in WEEKS
    ]
    assert impressions(weekly, currency="GBP") == [0, 300, 0, 0, 0]
    google_usd = [g for g in weekly if g["channel"]["platform"] == "GOOGLE" and g["currency"] == "USD"]
    assert impressions(google_usd) == [0, 0, 100, 0, 0]
    assert impressions(weekly, currency="USD", channel=weekly[-1]["channel"]) == [1500, 0, 0, 0, 200]

    monthly = await breakdown(client, issuer, "PLATFORM", "MONTH")
    assert [(g["platform"], g["currency"], g["period"]) for g in monthly] == [
        (platform, currency, month)
        for platform, currency in (("GOOGLE", "GBP"), ("GOOGLE", "USD"), ("META", "USD"))
        for month in MONTHS
    ]
    assert impressions(monthly, platform="META") == [1000, 500, 200]

    answer = await data(client, issuer, LEAN, **RANGE, by="CREATIVE", interval="WEEK")
    by_creative = answer["organization"]["performanceBreakdown"]
    assert len(by_creative) == 3 * 5 and sum(impressions(by_creative)) == 2100
    assert [g["period"] for g in by_creative] == WEEKS * 3


async def test_comparison_with_the_previous_range_of_equal_length(
    client: httpx.AsyncClient, issuer: TestIssuer, planted: dict[str, dict[str, Any]]
) -> None:
    money = "current { amount currency } previous { amount } change { amount } relativeChange"
    number = "current previous change relativeChange"
    answer = await data(
        client,
        issuer,
        f"""query($from: Date!, $to: Date!) {{ organization {{ performanceComparison(from: $from, to: $to) {{
          currency previousFrom previousTo impressions {{ {number} }} conversions {{ {number} }}
          spend {{ {money} }} cpc {{ {money} }} cpa {{ {money} }} ctr {{ {number} }} roas {{ {number} }} }} }} }}""",
        **RANGE,
    )
    gbp, usd = answer["organization"]["performanceComparison"]
    assert (gbp["currency"], gbp["previousFrom"], gbp["previousTo"]) == ("GBP", "2023-12-25", "2024-01-28")
    # Nothing in GBP before: the changes are the current values, and relative changes are null.
    assert gbp["impressions"] == {"current": 300, "previous": 0, "change": 300, "relativeChange": None}
    assert gbp["spend"] == {
        "current": {"amount": "7.25", "currency": "GBP"},
        "previous": {"amount": "0.00"},
        "change": {"amount": "7.25"},
        "relativeChange": None,
    }
    assert gbp["cpa"] == {
        "current": {"amount": "2.42", "currency": "GBP"},
        "previous": None,
        "change": None,
        "relativeChange": None,
    }
    assert gbp["roas"] == {"current": 4.1379, "previous": None, "change": None, "relativeChange": None}

    assert usd["impressions"] == {"current": 1800, "previous": 400, "change": 1400, "relativeChange": 3.5}
    assert usd["conversions"] == {"current": 5, "previous": 2, "change": 3, "relativeChange": 1.5}
    assert usd["spend"] == {
        "current": {"amount": "17.50", "currency": "USD"},
        "previous": {"amount": "8.00"},
        "change": {"amount": "9.50"},
        "relativeChange": 1.1875,
    }
    assert usd["cpc"] == {
        "current": {"amount": "0.27", "currency": "USD"},
        "previous": {"amount": "0.40"},
        "change": {"amount": "-0.13"},
        "relativeChange": -0.325,
    }
    assert usd["ctr"] == {"current": 0.036111, "previous": 0.05, "change": -0.013889, "relativeChange": -0.27778}
    assert usd["roas"] == {"current": 2.2857, "previous": 2.0, "change": 0.2857, "relativeChange": 0.14285}


async def test_a_huge_breakdown_is_refused_before_it_runs(
    client: httpx.AsyncClient, issuer: TestIssuer, planted: dict[str, dict[str, Any]]
) -> None:
    year = {"from": "2024-01-01", "to": "2024-12-31"}
    token = issuer.token(ORG, "analyst")
    for by, interval in (("CREATIVE", "DAY"), ("CREATIVE", "WEEK"), ("CAMPAIGN", "DAY")):
        literal = (
            f'{{ organization {{ performanceBreakdown(from: "2024-01-01", to: "2024-12-31", by: {by}, '
            f"interval: {interval}) {{ period performance {{ clicks }} }} }} }}"
        )
        for body in (
            await gql(client, literal, token=token),
            await gql(client, BREAKDOWN, {**year, "by": by, "interval": interval}, token=token),
        ):
            assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COMPLEX"], (by, interval, body)
            assert "data" not in body
    # By month, or campaigns over five weeks by day, with few fields a row: within the limit.
    for variables in ({**RANGE, "by": "CREATIVE", "interval": "MONTH"}, {**RANGE, "by": "CAMPAIGN", "interval": "DAY"}):
        assert "errors" not in await gql(client, LEAN, variables, token=token)


@pytest.mark.parametrize(
    ("start", "end"), [("2024-02-01", "2024-01-31"), ("2022-01-01", "2024-01-31"), ("0001-01-01", "0001-01-07")]
)
async def test_bad_ranges_are_bad_user_input(
    client: httpx.AsyncClient, issuer: TestIssuer, start: str, end: str
) -> None:
    for field in (
        "performanceBreakdown(from: $from, to: $to, interval: WEEK) { period }",
        "performanceComparison(from: $from, to: $to) { currency }",
    ):
        if field.startswith("performanceBreakdown") and start.startswith("0001"):
            continue  # a range at the start of the calendar has weeks; only its previous range is missing
        body = await gql(
            client,
            f"query($from: Date!, $to: Date!) {{ organization {{ {field} }} }}",
            {"from": start, "to": end},
            token=issuer.token(ORG, "analyst"),
        )
        assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], body


async def test_cohort_money_is_in_the_cohort_currency(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    query = "{ organization { cohorts(first: 20) { edges { node { currency ltv30 { amount currency } ltv180 { currency } } } } } }"
    for org, currency in (("acme", "USD"), ("globex", "EUR")):
        body = await gql(client, query, token=issuer.token(org, "analyst"))
        nodes = [e["node"] for e in body["data"]["organization"]["cohorts"]["edges"]]
        assert nodes and all(
            n["currency"] == n["ltv30"]["currency"] == n["ltv180"]["currency"] == currency for n in nodes
        )
        assert all(Decimal(n["ltv30"]["amount"]).as_tuple().exponent == -2 for n in nodes)


async def test_existing_cohorts_take_the_currency_most_of_their_channel_campaigns_use(seeded: Stores) -> None:
    """The backfill of migration 0011, run again in a transaction that is rolled back."""
    migration = next(m.sql for m in load_migrations() if m.name == "cohort_currency")
    backfill = migration[migration.index("UPDATE cohorts") :]
    org = uid("org", ORG)
    conn = await asyncpg.connect(seeded.database_url)
    try:
        transaction = conn.transaction()
        await transaction.start()
        try:
            channels = {}
            for name, currencies in (("mostly pounds", ["GBP", "GBP", "USD"]), ("tie", ["USD", "EUR"]), ("none", [])):
                channel = await conn.fetchval(
                    "INSERT INTO channels (organization_id, platform, name) VALUES ($1, 'email', $2) RETURNING id",
                    org,
                    f"backfill {name}",
                )
                for n, currency in enumerate(currencies):
                    await conn.execute(
                        "INSERT INTO campaigns (organization_id, channel_id, external_id, name, currency) "
                        "VALUES ($1, $2, $3, $3, $4)",
                        org,
                        channel,
                        f"backfill-{name}-{n}",
                        currency,
                    )
                await conn.execute(
                    "INSERT INTO cohorts (organization_id, channel_id, cohort_month, ltv_30) VALUES ($1, $2, '2024-01-01', 12.5)",
                    org,
                    channel,
                )
                channels[name] = channel
            await conn.execute(backfill)
            found = {
                name: (await conn.fetchval("SELECT currency FROM cohorts WHERE channel_id = $1", channel)).strip()
                for name, channel in channels.items()
            }
            assert found == {"mostly pounds": "GBP", "tie": "EUR", "none": "USD"}
        finally:
            await transaction.rollback()
    finally:
        await conn.close()
