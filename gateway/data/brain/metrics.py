"""Performance: metric aggregates over `daily_metrics`, per object, per day, per group, and as sort keys.

Ratios are computed in SQL with NULLIF, so a zero denominator yields NULL
(GraphQL null) instead of an error or a misleading zero.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from aiodataloader import DataLoader

from gateway.context import RequestContext
from gateway.data.brain.sql import Sortable, Where, grouped, ordering_of
from gateway.data.filters import DayRange, Sort
from gateway.data.paging import Ordering
from gateway.data.rows import Row
from gateway.errors import BadUserInput
from gateway.stores.postgres import TenantConnection, TenantReader

MAX_RANGE_DAYS = 731

# Aggregates over daily_metrics `m` joined to campaigns `c` (for the currency).
METRIC_AGGREGATES = """
    coalesce(sum(m.impressions), 0)::bigint AS impressions,
    coalesce(sum(m.clicks), 0)::bigint AS clicks,
    round(coalesce(sum(m.spend), 0), 2) AS spend,
    coalesce(sum(m.conversions), 0)::bigint AS conversions,
    round(coalesce(sum(m.revenue), 0), 2) AS revenue,
    round(sum(m.clicks)::numeric / nullif(sum(m.impressions), 0), 6)::float8 AS ctr,
    round(sum(m.spend) / nullif(sum(m.clicks), 0), 2) AS cpc,
    round(sum(m.spend) / nullif(sum(m.conversions), 0), 2) AS cpa,
    round(sum(m.revenue) / nullif(sum(m.spend), 0), 4)::float8 AS roas,
    CASE WHEN count(DISTINCT c.currency) = 1 THEN min(c.currency) END AS currency
"""

METRICS_FROM = "daily_metrics m JOIN campaigns c ON c.id = m.campaign_id AND c.organization_id = m.organization_id"


def metric_totals(key: str, where: str) -> str:
    """`key` and METRIC_AGGREGATES per key, over the daily_metrics rows `d` that `where` selects.

    The rows are summed per key and campaign first and only then joined to
    their campaign for the currency: the join, and the sort that the
    currency's DISTINCT needs, see one row per key and campaign instead of one
    per day (30 times fewer over a month). Sums of sums are the same totals.
    """
    return (
        f"SELECT m.key, {METRIC_AGGREGATES} FROM (SELECT d.{key} AS key, d.organization_id, d.campaign_id, "
        "sum(d.impressions) AS impressions, sum(d.clicks) AS clicks, sum(d.spend) AS spend, "
        "sum(d.conversions) AS conversions, sum(d.revenue) AS revenue "
        f"FROM daily_metrics d WHERE {where} GROUP BY d.{key}, d.organization_id, d.campaign_id) m "
        "JOIN campaigns c ON c.id = m.campaign_id AND c.organization_id = m.organization_id GROUP BY m.key"
    )


# The columns metrics are kept per: the key of `performance`/`dailyMetrics` of each object type.
CAMPAIGN = "campaign_id"
CREATIVE = "creative_id"
CHANNEL = "channel_id"

Range = tuple[dt.date, dt.date]
PerfKey = tuple[UUID, Range]


@dataclass(frozen=True, slots=True)
class MetricsRow(Row):
    impressions: int
    clicks: int
    spend: Decimal
    conversions: int
    revenue: Decimal
    ctr: float | None
    cpc: Decimal | None
    cpa: Decimal | None
    roas: float | None
    currency: str | None


@dataclass(frozen=True, slots=True)
class DailyRow:
    date: dt.date
    metrics: MetricsRow


@dataclass(frozen=True, slots=True)
class GroupRow:
    """Totals of one group: `key` is a day, a Monday, a channel id or a campaign id."""

    key: Any
    metrics: MetricsRow


def check_range(start: dt.date, end: dt.date) -> None:
    if start > end:
        raise BadUserInput(f"date range is empty: from {start.isoformat()} is after to {end.isoformat()}")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise BadUserInput(f"date range spans more than {MAX_RANGE_DAYS} days")


def default_range(days: int = 30) -> Range:
    today = dt.datetime.now(dt.UTC).date()
    return today - dt.timedelta(days=days - 1), today


async def totals(pg: TenantReader, start: dt.date, end: dt.date) -> MetricsRow:
    check_range(start, end)
    row = await pg.fetchrow(
        f"SELECT {METRIC_AGGREGATES} FROM {METRICS_FROM} WHERE m.organization_id = $1 AND m.date BETWEEN $2 AND $3",
        pg.organization_id,
        start,
        end,
    )
    assert row is not None  # an aggregate without GROUP BY always returns one row
    return MetricsRow.of(row)


GROUP_KEYS = {
    "day": "m.date",
    "week": "date_trunc('week', m.date)::date",
    "channel": "m.channel_id",
    "campaign": "m.campaign_id",
}


async def breakdown(pg: TenantReader, start: dt.date, end: dt.date, group_by: str) -> list[GroupRow]:
    """Totals per group (`day`, `week`, `channel` or `campaign`), ordered by the group key."""
    check_range(start, end)
    rows = await pg.fetch(
        f"SELECT {GROUP_KEYS[group_by]} AS key, {METRIC_AGGREGATES} FROM {METRICS_FROM} "
        f"WHERE m.organization_id = $1 AND m.date BETWEEN $2 AND $3 GROUP BY 1 ORDER BY 1",
        pg.organization_id,
        start,
        end,
    )
    return [GroupRow(r["key"], MetricsRow.of(r)) for r in rows]


def order_join(where: Where, alias: str, key_column: str, metrics_range: Range) -> str:
    """The join that gives rows of `alias` their totals over a range as `p.<measure>` (NULL without metrics).

    The range's parameters are added to `where`.
    """
    start, end = metrics_range
    check_range(start, end)
    a, b = where.param(start), where.param(end)
    return (
        f"LEFT JOIN (SELECT m.{key_column} AS key, {METRIC_AGGREGATES} FROM {METRICS_FROM} "
        f"WHERE m.organization_id = $1 AND m.date BETWEEN {a} AND {b} GROUP BY m.{key_column}) p "
        f"ON p.key = {alias}.id"
    )


# --- loaders: per object over a date range ------------------------------------------------


def performance(ctx: RequestContext, column: str) -> DataLoader[PerfKey, MetricsRow | None]:
    """Totals per object over a range; `column` is CAMPAIGN, CREATIVE or CHANNEL."""

    async def load(keys: Sequence[PerfKey]) -> list[MetricsRow | None]:
        pg = ctx.postgres
        found: dict[PerfKey, MetricsRow] = {}
        for (start, end), parents in grouped(keys).items():
            rows = await pg.fetch(
                metric_totals(
                    column, f"d.organization_id = $1 AND d.{column} = ANY($2::uuid[]) AND d.date BETWEEN $3 AND $4"
                ),
                pg.organization_id,
                parents,
                start,
                end,
            )
            found.update({(r["key"], (start, end)): MetricsRow.of(r) for r in rows})
        return [found.get(k) for k in keys]

    return DataLoader(load)


def daily(ctx: RequestContext, column: str) -> DataLoader[PerfKey, list[DailyRow]]:
    """Totals per object and day over a range (days without data are absent)."""

    async def load(keys: Sequence[PerfKey]) -> list[list[DailyRow]]:
        pg = ctx.postgres
        found: dict[PerfKey, list[DailyRow]] = defaultdict(list)
        for (start, end), parents in grouped(keys).items():
            rows = await pg.fetch(
                f"SELECT m.{column} AS key, m.date, {METRIC_AGGREGATES} FROM {METRICS_FROM} "
                f"WHERE m.organization_id = $1 AND m.{column} = ANY($2::uuid[]) AND m.date BETWEEN $3 AND $4 "
                f"GROUP BY m.{column}, m.date ORDER BY m.{column}, m.date",
                pg.organization_id,
                parents,
                start,
                end,
            )
            for r in rows:
                found[(r["key"], (start, end))].append(DailyRow(r["date"], MetricsRow.of(r)))
        return [found.get(k, []) for k in keys]

    return DataLoader(load)


def campaign_performance(ctx: RequestContext) -> DataLoader[PerfKey, MetricsRow | None]:
    return performance(ctx, CAMPAIGN)


def creative_performance(ctx: RequestContext) -> DataLoader[PerfKey, MetricsRow | None]:
    return performance(ctx, CREATIVE)


def channel_performance(ctx: RequestContext) -> DataLoader[PerfKey, MetricsRow | None]:
    return performance(ctx, CHANNEL)


def campaign_daily(ctx: RequestContext) -> DataLoader[PerfKey, list[DailyRow]]:
    return daily(ctx, CAMPAIGN)


def creative_daily(ctx: RequestContext) -> DataLoader[PerfKey, list[DailyRow]]:
    return daily(ctx, CREATIVE)


def channel_daily(ctx: RequestContext) -> DataLoader[PerfKey, list[DailyRow]]:
    return daily(ctx, CHANNEL)


# The measures lists sort by (NULL for a row without metrics in the range: last either way).
MEASURES = {
    name: Sortable(f"p.{name}", kind, nullable=True)
    for name, kind in (
        ("impressions", "i"),
        ("clicks", "i"),
        ("spend", "n"),
        ("conversions", "i"),
        ("revenue", "n"),
        ("ctr", "f"),
        ("cpc", "n"),
        ("cpa", "n"),
        ("roas", "f"),
    )
}


def measured_ordering(
    where: Where, sorts: Sequence[Sort], sortable: Mapping[str, Sortable], key_column: str, days: DayRange | None
) -> tuple[str, Ordering]:
    """(join, ordering) of an `orderBy` that may name measures, computed over `days` (default: the last 30 days).

    The join is there only when a measure is named; the range is part of the
    ordering, so a cursor made over another range is refused.
    """
    if not any(s.field in MEASURES for s in sorts):
        return "", ordering_of(sorts, sortable)
    start, end = default_range()
    metrics_range = (days.first or start, days.last or end) if days else (start, end)
    join = order_join(where, "t", key_column, metrics_range)
    return join, ordering_of(sorts, {**sortable, **MEASURES}, extra=f"{metrics_range[0]}..{metrics_range[1]}")


# --- writes (inside a mutation's transaction) ---------------------------------------------


@dataclass(frozen=True, slots=True)
class DailyFigures:
    """One creative's figures for one day, checked and ready to write."""

    creative_id: UUID
    campaign_id: UUID
    channel_id: UUID
    date: dt.date
    impressions: int
    clicks: int
    spend: Decimal
    conversions: int
    revenue: Decimal


UPSERT_METRICS = """
WITH written AS (
    INSERT INTO daily_metrics AS m
        (organization_id, creative_id, date, campaign_id, channel_id, impressions, clicks, spend, conversions, revenue)
    SELECT $1, r.* FROM unnest(
        $2::uuid[], $3::date[], $4::uuid[], $5::uuid[], $6::bigint[], $7::bigint[], $8::numeric[], $9::bigint[], $10::numeric[]
    ) AS r
    ON CONFLICT (creative_id, date) DO UPDATE SET
        campaign_id = EXCLUDED.campaign_id,
        channel_id = EXCLUDED.channel_id,
        impressions = EXCLUDED.impressions,
        clicks = EXCLUDED.clicks,
        spend = EXCLUDED.spend,
        conversions = EXCLUDED.conversions,
        revenue = EXCLUDED.revenue
    RETURNING (m.xmax = 0) AS inserted
)
SELECT count(*) AS total, count(*) FILTER (WHERE inserted) AS inserted FROM written
"""


async def upsert(tx: TenantConnection, rows: Sequence[DailyFigures]) -> tuple[int, int]:
    """Insert or update the rows in one statement: (rows written, of which inserted)."""
    # Rows are locked in the order they are written; one canonical order means
    # two overlapping batches wait on each other instead of deadlocking.
    ordered = sorted(rows, key=lambda r: (r.creative_id, r.date))
    result = await tx.fetchrow(
        UPSERT_METRICS,
        tx.organization_id,  # RLS only admits rows of the transaction's organization
        [r.creative_id for r in ordered],
        [r.date for r in ordered],
        [r.campaign_id for r in ordered],
        [r.channel_id for r in ordered],
        [r.impressions for r in ordered],
        [r.clicks for r in ordered],
        [r.spend for r in ordered],
        [r.conversions for r in ordered],
        [r.revenue for r in ordered],
    )
    assert result is not None  # an aggregate always returns one row
    return int(result["total"]), int(result["inserted"])
