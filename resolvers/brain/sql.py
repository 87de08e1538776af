"""SQL shared by Brain resolvers: metric aggregates and tenant-scoped paging.

Ratios are computed in SQL with NULLIF, so a zero denominator yields NULL
(GraphQL null) instead of an error or a misleading zero.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gateway.context import RequestContext
from gateway.errors import BadUserInput
from resolvers.common.inputs import contains_text
from resolvers.common.relay import Connection, Page, connection, needs_total, window

T = TypeVar("T")

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


@dataclass
class Where:
    """SQL conditions and their parameters, numbered as they are added.

    `first` is the number of the first added parameter: $1 is the organization
    in every query here ($2 the parent ids in per-parent loaders).
    """

    first: int = 2
    conditions: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def param(self, value: Any) -> str:
        """Add a parameter and return its placeholder, e.g. `$3`."""
        self.params.append(value)
        return f"${self.first + len(self.params) - 1}"

    def add(self, condition: str, value: Any) -> None:
        """`condition` marks where the parameter goes with `{}`: `status = ANY({}::text[])`."""
        self.conditions.append(condition.format(self.param(value)))

    def contains(self, column: str, text: str) -> None:
        """Case-insensitive substring match: `%`, `_` and `\\` in the text match themselves, not patterns."""
        escaped = contains_text(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        self.conditions.append(f"{column} ILIKE '%' || {self.param(escaped)} || '%' ESCAPE '\\'")


def check_range(start: dt.date, end: dt.date) -> None:
    if start > end:
        raise BadUserInput(f"date range is empty: from {start.isoformat()} is after to {end.isoformat()}")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise BadUserInput(f"date range spans more than {MAX_RANGE_DAYS} days")


def default_range(days: int = 30) -> tuple[dt.date, dt.date]:
    today = dt.datetime.now(dt.UTC).date()
    return today - dt.timedelta(days=days - 1), today


async def org_page(
    ctx: RequestContext,
    *,
    key: str,
    select: str,
    where: Where,
    order: str,
    build: Callable[[Any], T],
    page: Page,
) -> Connection[T]:
    """One page of an organization-level list plus a lazily counted total.

    `select` is `<columns> FROM <tables>`; `where` conditions may use $1 (the
    organization id) and their own parameters; `order` must end in a unique key
    so offsets are stable.
    """
    pg = ctx.postgres
    args = [pg.organization_id, *where.params]
    clause = " AND ".join(where.conditions) if where.conditions else "TRUE"
    count_from = select.split(" FROM ", 1)[1]

    async def count() -> int:
        return int(await pg.fetchval(f"SELECT count(*) FROM {count_from} WHERE {clause}", *args))

    total = await count() if needs_total(page.last, page.before) else None
    win = window(key, page.first, page.after, page.last, page.before, total)
    rows = await pg.fetch(
        f"SELECT {select} WHERE {clause} ORDER BY {order} OFFSET ${len(args) + 1} LIMIT ${len(args) + 2}",
        *args,
        win.offset,
        win.limit,
    )
    return connection(win, [build(r) for r in rows], count)
