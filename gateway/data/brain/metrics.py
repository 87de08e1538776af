"""Performance: metric aggregates over `daily_metrics`, per object, per currency, per group and period.

Money is never summed across currencies: every aggregate that can span
campaigns groups by the campaigns' currency as well. Ratios are computed in
SQL with NULLIF, so a zero denominator yields NULL (GraphQL null) instead of
an error or a misleading zero.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple, TypeVar
from uuid import UUID

from aiodataloader import DataLoader
from asyncpg import Record

from gateway.core.context import RequestContext
from gateway.data.batches import ListLoader
from gateway.data.brain.kpis import KpiFilter, add_conditions, needs_metrics
from gateway.data.brain.sql import Sortable, Where, grouped, ordering_of
from gateway.data.filters import DayRange, Sort
from gateway.data.paging import Ordering
from gateway.data.rows import row_of
from gateway.errors import BadUserInput
from gateway.stores.postgres import TenantConnection, TenantReader

T = TypeVar("T")

MAX_RANGE_DAYS = 731
SUMMED = ("impressions", "clicks", "spend", "conversions", "revenue")


def measures(total: Callable[[str], str]) -> str:
    """The KPI columns, given `total(column)`: the SQL of one summed column (`sum(m.spend)`, `s.spend`)."""
    i, c, s, v, r = (total(column) for column in SUMMED)
    return (
        f"coalesce({i}, 0)::bigint AS impressions, coalesce({c}, 0)::bigint AS clicks, "
        f"round(coalesce({s}, 0), 2) AS spend, coalesce({v}, 0)::bigint AS conversions, "
        f"round(coalesce({r}, 0), 2) AS revenue, "
        f"round({c}::numeric / nullif({i}, 0), 6)::float8 AS ctr, "
        f"round({s} / nullif({c}, 0), 2) AS cpc, "
        f"round({s} / nullif({v}, 0), 2) AS cpa, "
        f"round({r} / nullif({s}, 0), 4)::float8 AS roas"
    )


# Aggregates over daily_metrics rows `m`.
METRIC_AGGREGATES = measures(lambda column: f"sum(m.{column})")
SUMS = ", ".join(f"sum(m.{column}) AS {column}" for column in SUMMED)
# A metric row's currency is its campaign's.
WITH_CAMPAIGN = "daily_metrics m JOIN campaigns c ON c.organization_id = m.organization_id AND c.id = m.campaign_id"

# The columns metrics are kept per: the key of `performance`/`dailyMetrics` of each object type.
CAMPAIGN = "campaign_id"
CREATIVE = "creative_id"
CHANNEL = "channel_id"

Range = tuple[dt.date, dt.date]
PerfKey = tuple[UUID, Range]


class MetricsRow(NamedTuple):
    currency: str
    impressions: int
    clicks: int
    spend: Decimal
    conversions: int
    revenue: Decimal
    ctr: float | None
    cpc: Decimal | None
    cpa: Decimal | None
    roas: float | None

    @classmethod
    def zero(cls, currency: str) -> MetricsRow:
        nothing = Decimal("0.00")
        return cls(currency, 0, 0, nothing, 0, nothing, None, None, None, None)


metrics_row = row_of(MetricsRow)


@dataclass(frozen=True, slots=True)
class DailyRow:
    date: dt.date
    metrics: MetricsRow


def check_range(start: dt.date, end: dt.date) -> None:
    if start > end:
        raise BadUserInput(f"date range is empty: from {start.isoformat()} is after to {end.isoformat()}")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise BadUserInput(f"date range spans more than {MAX_RANGE_DAYS} days")


def default_range(days: int = 30) -> Range:
    today = dt.datetime.now(dt.UTC).date()
    return today - dt.timedelta(days=days - 1), today


def order_join(where: Where, alias: str, key_column: str, metrics_range: Range) -> str:
    """The join that gives rows of `alias` their totals over a range as `p.<measure>` (NULL without metrics).

    The range's parameters are added to `where`.
    """
    start, end = metrics_range
    check_range(start, end)
    a, b = where.param(start), where.param(end)
    return (
        f"LEFT JOIN (SELECT m.{key_column} AS key, {METRIC_AGGREGATES} FROM daily_metrics m "
        f"WHERE m.organization_id = $1 AND m.date BETWEEN {a} AND {b} GROUP BY m.{key_column}) p "
        f"ON p.key = {alias}.id"
    )


# --- loaders: per object over a date range ------------------------------------------------

# The totals of a batch of campaigns or creatives are written so that every plan PostgreSQL can
# pick for them sums each metric row once, whatever the batch's size. asyncpg prepares each
# statement once per connection, and after five runs PostgreSQL may switch to a generic plan,
# made without the parameters' values, which takes an array parameter to hold ten ids. Joining
# the objects to a subquery that summed the metrics of all the ids got, as a generic plan on a
# database of organizations of very different sizes, a nested loop that summed the whole batch
# again for each object: seconds instead of tens of milliseconds for a thousand creatives.
#
# A campaign's totals are summed per campaign (LATERAL) from the covering index on
# (organization_id, campaign_id, date): one range of index entries per campaign, the same plan
# for one campaign or a thousand. A creative's are not summed that way: a generic plan expects
# about one metric row per creative and range, for which the primary key on (creative_id, date)
# looks as cheap as the covering index, and it would then read the table row by row. Creatives
# are summed in one pass over the covering index instead, and joined to their creatives by a
# FULL JOIN, which PostgreSQL runs as a hash or merge join, never as a nested loop. Every metric
# row has its creative, so the full join adds no row the creatives do not have.
CAMPAIGN_TOTALS = (
    f"SELECT o.id AS key, o.currency, {measures(lambda c: f's.{c}')} FROM campaigns o "
    f"CROSS JOIN LATERAL (SELECT {SUMS} FROM daily_metrics m WHERE m.organization_id = $1 "
    "AND m.campaign_id = o.id AND m.date BETWEEN $3 AND $4) s "
    "WHERE o.organization_id = $1 AND o.id = ANY($2::uuid[])"
)
CREATIVE_TOTALS = (
    f"SELECT o.key, o.currency, {measures(lambda c: f's.{c}')} "
    "FROM (SELECT o.id AS key, c.currency FROM creatives o "
    "JOIN campaigns c ON c.organization_id = o.organization_id AND c.id = o.campaign_id "
    "WHERE o.organization_id = $1 AND o.id = ANY($2::uuid[])) o "
    f"FULL JOIN (SELECT m.creative_id AS key, {SUMS} FROM daily_metrics m WHERE m.organization_id = $1 "
    "AND m.creative_id = ANY($2::uuid[]) AND m.date BETWEEN $3 AND $4 GROUP BY m.creative_id) s ON s.key = o.key"
)
OBJECT_TOTALS = {CAMPAIGN: CAMPAIGN_TOTALS, CREATIVE: CREATIVE_TOTALS}


async def object_totals(
    pg: TenantReader, column: str, ids: Sequence[UUID], start: dt.date, end: dt.date
) -> dict[UUID, MetricsRow]:
    """Totals of each campaign or creative (`column`) found among `ids` over start..end, in its campaign's currency.

    Every object found gets a row, zeros when it has no metrics in the range,
    so its currency is known without another statement.
    """
    rows = await pg.fetch(OBJECT_TOTALS[column], pg.organization_id, ids, start, end)
    return {r["key"]: metrics_row(r) for r in rows if r["key"] is not None}


def performance(ctx: RequestContext, column: str) -> ListLoader[PerfKey, MetricsRow | None]:
    """Totals per campaign or creative (`column`) over a range: one statement per distinct range."""

    async def load(keys: Sequence[PerfKey]) -> list[MetricsRow | None]:
        found: dict[PerfKey, MetricsRow] = {}
        for (start, end), parents in grouped(keys).items():
            totals = await object_totals(ctx.postgres, column, parents, start, end)
            found.update({(key, (start, end)): row for key, row in totals.items()})
        return [found.get(k) for k in keys]

    # A planned level asks for a thousand keys at once: one future per call, not per key.
    return ListLoader(load)


def _lists(ctx: RequestContext, sql: str, build: Callable[[Record], T]) -> DataLoader[PerfKey, list[T]]:
    """A list per object over a range: `sql` selects rows with a `key` of the objects $2 over days $3..$4."""

    async def load(keys: Sequence[PerfKey]) -> list[list[T]]:
        pg = ctx.postgres
        found: dict[PerfKey, list[T]] = defaultdict(list)
        for (start, end), parents in grouped(keys).items():
            for r in await pg.fetch(sql, pg.organization_id, parents, start, end):
                found[(r["key"], (start, end))].append(build(r))
        return [found.get(k, []) for k in keys]

    return DataLoader(load)


# The rows are summed per channel and campaign first and only then joined to their campaign
# for the currency: the join sees one row per channel and campaign instead of one per
# creative and day. Sums of sums are the same totals.
CHANNEL_TOTALS = (
    f"SELECT s.key, c.currency, {measures(lambda column: f'sum(s.{column})')} "
    f"FROM (SELECT m.channel_id AS key, m.organization_id, m.campaign_id, {SUMS} FROM daily_metrics m "
    "WHERE m.organization_id = $1 AND m.channel_id = ANY($2::uuid[]) AND m.date BETWEEN $3 AND $4 "
    "GROUP BY m.channel_id, m.organization_id, m.campaign_id) s "
    "JOIN campaigns c ON c.organization_id = s.organization_id AND c.id = s.campaign_id "
    "GROUP BY s.key, c.currency ORDER BY s.key, c.currency"
)


def channel_performance(ctx: RequestContext) -> DataLoader[PerfKey, list[MetricsRow]]:
    """Totals per channel and currency over a range, ordered by currency (currencies without metrics absent)."""
    return _lists(ctx, CHANNEL_TOTALS, metrics_row)


def daily(ctx: RequestContext, column: str) -> DataLoader[PerfKey, list[DailyRow]]:
    """Totals per object, day and currency over a range (days without data are absent)."""
    return _lists(
        ctx,
        f"SELECT m.{column} AS key, m.date, c.currency, {METRIC_AGGREGATES} FROM {WITH_CAMPAIGN} "
        f"WHERE m.organization_id = $1 AND m.{column} = ANY($2::uuid[]) AND m.date BETWEEN $3 AND $4 "
        f"GROUP BY m.{column}, m.date, c.currency ORDER BY m.{column}, m.date, c.currency",
        lambda r: DailyRow(r["date"], metrics_row(r)),
    )


def campaign_performance(ctx: RequestContext) -> ListLoader[PerfKey, MetricsRow | None]:
    return performance(ctx, CAMPAIGN)


def creative_performance(ctx: RequestContext) -> ListLoader[PerfKey, MetricsRow | None]:
    return performance(ctx, CREATIVE)


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
    where: Where,
    sorts: Sequence[Sort],
    sortable: Mapping[str, Sortable],
    key_column: str,
    days: DayRange | None,
    kpis: KpiFilter | None = None,
) -> tuple[str, Ordering]:
    """(join, ordering) of an `orderBy` that may name measures, computed over `days` (default: the last 30 days).

    The join is there only when a measure is named or `kpis` bound one (their
    conditions are added to `where`); the range is part of an ordering by a
    measure, so a cursor made over another range is refused.
    """
    sorted_by_measure = any(s.field in MEASURES for s in sorts)
    if not sorted_by_measure and not needs_metrics(kpis):
        return "", ordering_of(sorts, sortable)
    start, end = default_range()
    metrics_range = (days.first or start, days.last or end) if days else (start, end)
    join = order_join(where, "t", key_column, metrics_range)
    add_conditions(where, kpis)
    if not sorted_by_measure:
        return join, ordering_of(sorts, sortable)
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
