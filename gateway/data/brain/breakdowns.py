"""Performance per group and period: totals per currency, broken down by a dimension and an interval.

Money is never summed across currencies (see `metrics`): every row here is one currency's.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from gateway.data.brain.metrics import SUMS, WITH_CAMPAIGN, MetricsRow, Range, check_range, measures, metrics_row
from gateway.errors import BadUserInput
from gateway.stores.postgres import TenantReader


@dataclass(frozen=True, slots=True)
class GroupRow:
    """Totals of one group in one currency and period.

    `key` is the dimension's value (a channel, campaign or creative id, a
    platform or a format; None without a dimension) and `period` the first day
    of the period (None without an interval).
    """

    key: Any
    period: dt.date | None
    metrics: MetricsRow


# Per dimension: the group key, the column groups sort by, and the tables the two need
# beyond `m` (daily_metrics) and `c` (its campaign).
CHANNELS = "JOIN channels ch ON ch.organization_id = m.organization_id AND ch.id = m.channel_id"
CREATIVES = "JOIN creatives cr ON cr.organization_id = m.organization_id AND cr.id = m.creative_id"
DIMENSIONS: dict[str, tuple[str, str, str]] = {
    "channel": ("m.channel_id", "ch.name", CHANNELS),
    "campaign": ("m.campaign_id", "c.name", ""),
    "creative": ("m.creative_id", "cr.name", CREATIVES),
    "platform": ("ch.platform", "ch.platform", CHANNELS),
    "format": ("cr.format", "cr.format", CREATIVES),
}
INTERVALS = {"day": "1 day", "week": "1 week", "month": "1 month"}


def period_start(day: dt.date, interval: str) -> dt.date:
    """The first day of the period holding `day`: itself, the Monday of its ISO week, the 1st of its month."""
    if interval == "week":
        return day - dt.timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day


def period_count(start: dt.date, end: dt.date, interval: str) -> int:
    """How many periods (some partial) the days `start`..`end` touch."""
    first, last = period_start(start, interval), period_start(end, interval)
    if interval == "month":
        return (last.year - first.year) * 12 + last.month - first.month + 1
    return (last - first).days // (7 if interval == "week" else 1) + 1


def split_sql(dimension: str | None, period: str, periods: str) -> str:
    """Totals per group, currency and period, every group in every period (zeros where it has no metrics).

    `period` is the SQL of a metric row's period and `periods` a query of
    every period (column `period`); $1 is the organization and $2..$3 the days.
    A group is a dimension value with metrics in some currency in the range.
    """
    # Without a dimension every row has the same key; equality (not IS NOT DISTINCT FROM) keeps the join a hash join.
    key, sort, joins = DIMENSIONS[dimension] if dimension else ("''", "''", "")
    return (
        f"WITH sums AS (SELECT {key} AS key, {sort} AS sort, c.currency, {period} AS period, {SUMS} "
        f"FROM {WITH_CAMPAIGN} {joins} WHERE m.organization_id = $1 AND m.date BETWEEN $2 AND $3 "
        "GROUP BY 1, 2, 3, 4), "
        "groups AS (SELECT DISTINCT key, sort, currency FROM sums), "
        f"periods AS ({periods}) "
        f"SELECT g.key, g.currency, p.period, {measures(lambda column: f's.{column}')} "
        "FROM groups g CROSS JOIN periods p "
        "LEFT JOIN sums s ON s.key = g.key AND s.currency = g.currency AND s.period = p.period "
        "ORDER BY g.sort, g.key, g.currency, p.period"
    )


async def breakdown(
    pg: TenantReader, start: dt.date, end: dt.date, dimension: str | None = None, interval: str | None = None
) -> list[GroupRow]:
    """Totals per currency, and per `dimension` value and `interval` period when given.

    Ordered by group (channel, campaign or creative name; platform; format),
    currency, then period. With an interval, every group has a row for every
    period from the one holding `start` to the one holding `end`: zeros where
    it has no metrics. Only days within the range count, so the first and
    last periods may be partial.
    """
    check_range(start, end)
    if interval is None:  # one period: the range
        period, periods = "$2::date", "SELECT $2::date AS period"
    else:
        step = INTERVALS[interval]
        period = f"date_trunc('{interval}', m.date::timestamp)::date"
        periods = f"SELECT generate_series(date_trunc('{interval}', $2::timestamp), $3::timestamp, interval '{step}')::date AS period"
    rows = await pg.fetch(split_sql(dimension, period, periods), pg.organization_id, start, end)
    return [GroupRow(r["key"] if dimension else None, r["period"] if interval else None, metrics_row(r)) for r in rows]


async def totals(pg: TenantReader, start: dt.date, end: dt.date) -> list[MetricsRow]:
    """Totals per currency, ordered by currency; empty when the range has no metrics."""
    return [g.metrics for g in await breakdown(pg, start, end)]


def previous_range(start: dt.date, end: dt.date) -> Range:
    """The range of equal length that ends the day before `start`."""
    length = end - start + dt.timedelta(days=1)
    if start - dt.date.min < length:
        raise BadUserInput("the range has no previous range of equal length within the calendar")
    return start - length, start - dt.timedelta(days=1)


async def compared(pg: TenantReader, start: dt.date, end: dt.date) -> dict[str, tuple[MetricsRow, MetricsRow]]:
    """Per currency, (totals over start..end, totals over the previous range of equal length).

    One statement over both ranges: the previous and the current range are two
    periods, so a currency with metrics in only one of them gets zeros in the other.
    """
    check_range(start, end)
    before, _ = previous_range(start, end)
    rows = await pg.fetch(
        split_sql(None, "CASE WHEN m.date >= $4 THEN $4 ELSE $2 END", "SELECT unnest(ARRAY[$2, $4]::date[]) AS period"),
        pg.organization_id,
        before,
        end,
        start,
    )
    found: dict[str, dict[dt.date, MetricsRow]] = defaultdict(dict)
    for r in rows:
        found[r["currency"]][r["period"]] = metrics_row(r)
    return {currency: (by_period[start], by_period[before]) for currency, by_period in found.items()}
