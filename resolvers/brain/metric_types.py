"""GraphQL types of metrics: an object's totals over a date range (`Performance`) and per day
(`DailyMetric`), and the reads of them that the Brain types' fields make."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from typing import Annotated, ClassVar
from uuid import UUID

import strawberry
from aiodataloader import DataLoader
from strawberry import Info

from gateway.core.context import RequestContext
from gateway.data.brain import metrics
from gateway.data.brain.metrics import DailyRow, MetricsRow
from resolvers.common.objects import builder, row_builder
from resolvers.common.scalars import Currency, Money

Ctx = Info[RequestContext, None]

FromArg = Annotated[dt.date, strawberry.argument(name="from", description="First day, inclusive.")]
ToArg = Annotated[dt.date, strawberry.argument(description="Last day, inclusive.")]


@strawberry.type(
    description="Delivery and outcome totals in one currency over a date range, with ratios computed in SQL. "
    "A ratio is null when its denominator is zero (e.g. ROAS without spend)."
)
class Performance:
    currency: str = strawberry.field(
        graphql_type=Currency, description="ISO 4217 code of every money figure here, e.g. `USD`."
    )
    impressions: int = strawberry.field(description="Times an ad was shown.")
    clicks: int = strawberry.field(description="Clicks on ads.")
    spend: Money = strawberry.field(description="Money spent.")
    conversions: int = strawberry.field(description="Attributed conversions.")
    revenue: Money = strawberry.field(description="Attributed revenue.")
    ctr: float | None = strawberry.field(description="Click-through rate: clicks / impressions.")
    cpc: Money | None = strawberry.field(description="Cost per click: spend / clicks.")
    cpa: Money | None = strawberry.field(description="Cost per acquisition: spend / conversions.")
    roas: float | None = strawberry.field(description="Return on ad spend: revenue / spend.")

    from_row: ClassVar[Callable[[MetricsRow], Performance]]


# A ratio's money is None when its denominator is zero (the row's NULL), as `Money.maybe` gives.
Performance.from_row = row_builder(
    Performance,
    currency=(str.strip, "currency"),
    impressions="impressions",
    clicks="clicks",
    spend=(Money.of, "spend", "currency"),
    conversions="conversions",
    revenue=(Money.of, "revenue", "currency"),
    ctr="ctr",
    cpc=(Money.of, "cpc", "currency"),
    cpa=(Money.of, "cpa", "currency"),
    roas="roas",
)


@strawberry.type(description="Performance of one day.")
class DailyMetric:
    date: dt.date = strawberry.field(description="The day.")
    performance: Performance = strawberry.field(description="Totals and ratios for the day.")

    @classmethod
    def from_row(cls, row: DailyRow) -> DailyMetric:
        return _new_daily_metric(date=row.date, performance=Performance.from_row(row.metrics))


DailyLoader = Callable[[RequestContext], DataLoader[metrics.PerfKey, list[DailyRow]]]


Totals = list[MetricsRow | Exception]  # a batch's answer: each object's totals row, in order


async def performance_rows(info: Ctx, column: str, keys: Sequence[UUID], start: dt.date, end: dt.date) -> Totals:
    """The totals row of each campaign or creative (`column`) of `keys`: the batch of a level, or one object's."""
    metrics.check_range(start, end)
    factory = metrics.campaign_performance if column == metrics.CAMPAIGN else metrics.creative_performance
    rows = await info.context.loader(factory).load_many([(key, (start, end)) for key in keys])
    missing = "the campaign or creative resolving this field exists"
    return [row if row is not None else AssertionError(missing) for row in rows]


async def daily_metrics(info: Ctx, factory: DailyLoader, key: UUID, start: dt.date, end: dt.date) -> list[DailyMetric]:
    metrics.check_range(start, end)
    return [DailyMetric.from_row(r) for r in await info.context.loader(factory).load((key, (start, end)))]


_new_daily_metric = builder(DailyMetric)


@strawberry.type(description="How much of a cohort is still active some months after its acquisition month.")
class RetentionPoint:
    period: int = strawberry.field(description="Months since the acquisition month (0 is that month itself).")
    ratio: float = strawberry.field(description="Share of the cohort's customers still active then, from 0 to 1.")


RETENTION_KEY = re.compile(r"m(0|[1-9][0-9]{0,3})")


def retention_points(stored: object) -> list[RetentionPoint]:
    """The stored `{"m0": 1.0, "m1": 0.8, ...}` as points by period; keys or values of another shape are skipped."""
    if not isinstance(stored, dict):
        return []
    points = []
    for key, value in stored.items():
        matched = RETENTION_KEY.fullmatch(key) if isinstance(key, str) else None
        if matched and isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            points.append(RetentionPoint(period=int(matched.group(1)), ratio=float(value)))
    return sorted(points, key=lambda p: p.period)
