"""Performance of an organization as a whole: broken down by dimension and period, compared with the previous range."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry

from gateway.data.brain import breakdowns, metrics
from resolvers.brain.enums import CreativeFormat, Platform
from resolvers.brain.metric_types import Performance
from resolvers.brain.types import Campaign, Channel, Creative
from resolvers.common.scalars import Currency, Money


@strawberry.enum(description="What to split performance by.")
class PerformanceDimension(Enum):
    CHANNEL = strawberry.enum_value("channel", description="One group per channel.")
    CAMPAIGN = strawberry.enum_value("campaign", description="One group per campaign.")
    CREATIVE = strawberry.enum_value("creative", description="One group per creative.")
    PLATFORM = strawberry.enum_value("platform", description="One group per platform of the channels.")
    FORMAT = strawberry.enum_value("format", description="One group per creative format.")


@strawberry.enum(description="Length of the periods of a time series.")
class TimeInterval(Enum):
    DAY = strawberry.enum_value("day", description="Days.")
    WEEK = strawberry.enum_value("week", description="ISO weeks, Monday to Sunday.")
    MONTH = strawberry.enum_value("month", description="Calendar months.")


@strawberry.type(
    description="Performance of one group in one currency and period. The fields of the dimension split by "
    "are set (e.g. `channel` for CHANNEL), the others are null; `period` is set when an interval is given."
)
class PerformanceGroup:
    period: dt.date | None = strawberry.field(
        description="First day of the period (the day, the Monday of the ISO week, the 1st of the month); "
        "null without an interval. The first and last periods count only days within the range."
    )
    channel: Channel | None = strawberry.field(description="The channel, for CHANNEL.")
    campaign: Campaign | None = strawberry.field(description="The campaign, for CAMPAIGN.")
    creative: Creative | None = strawberry.field(description="The creative, for CREATIVE.")
    platform: Platform | None = strawberry.field(description="The platform, for PLATFORM.")
    format: CreativeFormat | None = strawberry.field(description="The creative format, for FORMAT.")
    currency: str = strawberry.field(
        graphql_type=Currency, description="ISO 4217 code of the group's money, part of the group's key."
    )
    performance: Performance = strawberry.field(description="Totals and ratios of the group in the period.")


@strawberry.type(description="A count now and in the previous period.")
class CountChange:
    current: int = strawberry.field(description="Over the range asked for.")
    previous: int = strawberry.field(description="Over the previous range of equal length.")
    change: int = strawberry.field(description="current - previous.")
    relative_change: float | None = strawberry.field(
        description="change / previous, e.g. 0.25 for +25 %; null when previous is zero."
    )


@strawberry.type(description="An amount of money now and in the previous period; null where it is undefined.")
class MoneyChange:
    current: Money | None = strawberry.field(
        description="Over the range asked for (e.g. CPA is null without conversions)."
    )
    previous: Money | None = strawberry.field(description="Over the previous range of equal length.")
    change: Money | None = strawberry.field(description="current - previous; null when either is null.")
    relative_change: float | None = strawberry.field(
        description="change / previous, e.g. -0.1 for -10 %; null when previous is zero or null."
    )


@strawberry.type(description="A ratio now and in the previous period; null where it is undefined.")
class RatioChange:
    current: float | None = strawberry.field(description="Over the range asked for.")
    previous: float | None = strawberry.field(description="Over the previous range of equal length.")
    change: float | None = strawberry.field(description="current - previous; null when either is null.")
    relative_change: float | None = strawberry.field(
        description="change / previous; null when previous is zero or null."
    )


@strawberry.type(
    description="Each KPI over a range next to the same KPI over the previous range of equal length "
    "(e.g. the 7 days before a 7-day range), in one currency."
)
class PerformanceComparison:
    currency: str = strawberry.field(graphql_type=Currency, description="ISO 4217 code of the money figures.")
    previous_from: dt.date = strawberry.field(description="First day of the previous range.")
    previous_to: dt.date = strawberry.field(description="Last day of the previous range (the day before `from`).")
    impressions: CountChange = strawberry.field(description="Times an ad was shown.")
    clicks: CountChange = strawberry.field(description="Clicks on ads.")
    conversions: CountChange = strawberry.field(description="Attributed conversions.")
    spend: MoneyChange = strawberry.field(description="Money spent.")
    revenue: MoneyChange = strawberry.field(description="Attributed revenue.")
    cpc: MoneyChange = strawberry.field(description="Cost per click.")
    cpa: MoneyChange = strawberry.field(description="Cost per acquisition.")
    ctr: RatioChange = strawberry.field(description="Click-through rate.")
    roas: RatioChange = strawberry.field(description="Return on ad spend.")


def _relative(change: Decimal | float | int | None, previous: Decimal | float | int | None) -> float | None:
    if change is None or not previous:
        return None
    return round(float(Decimal(change) / Decimal(previous)), 6)


def _count(current: int, previous: int) -> CountChange:
    return CountChange(
        current=current,
        previous=previous,
        change=current - previous,
        relative_change=_relative(current - previous, previous),
    )


def _money(current: Decimal | None, previous: Decimal | None, currency: str) -> MoneyChange:
    change = None if current is None or previous is None else current - previous
    return MoneyChange(
        current=Money.maybe(current, currency),
        previous=Money.maybe(previous, currency),
        change=Money.maybe(change, currency),
        relative_change=_relative(change, previous),
    )


def _ratio(current: float | None, previous: float | None) -> RatioChange:
    # Rounded as the ratios themselves are, so 0.3 - 0.1 reads 0.2 and not 0.19999999999999998.
    change = None if current is None or previous is None else round(current - previous, 6)
    return RatioChange(current=current, previous=previous, change=change, relative_change=_relative(change, previous))


def comparison(now: metrics.MetricsRow, before: metrics.MetricsRow, previous: metrics.Range) -> PerformanceComparison:
    currency = now.currency.strip()
    return PerformanceComparison(
        currency=currency,
        previous_from=previous[0],
        previous_to=previous[1],
        impressions=_count(now.impressions, before.impressions),
        clicks=_count(now.clicks, before.clicks),
        conversions=_count(now.conversions, before.conversions),
        spend=_money(now.spend, before.spend, currency),
        revenue=_money(now.revenue, before.revenue, currency),
        cpc=_money(now.cpc, before.cpc, currency),
        cpa=_money(now.cpa, before.cpa, currency),
        ctr=_ratio(now.ctr, before.ctr),
        roas=_ratio(now.roas, before.roas),
    )


# Groups a breakdown is assumed to have per dimension when its cost is estimated, before it runs.
ASSUMED_GROUPS = {"CHANNEL": 10, "CAMPAIGN": 100, "CREATIVE": 1_000, "PLATFORM": 6, "FORMAT": 4}


def breakdown_size(arguments: Mapping[str, Any]) -> int:
    """The rows a breakdown may return, from its arguments as written: periods x assumed groups."""
    groups = ASSUMED_GROUPS.get(str(arguments.get("by")), 1)
    interval = str(arguments.get("interval")).lower()
    if interval not in breakdowns.INTERVALS:
        return groups
    most = {
        "day": metrics.MAX_RANGE_DAYS,
        "week": metrics.MAX_RANGE_DAYS // 7 + 2,
        "month": metrics.MAX_RANGE_DAYS // 28 + 2,
    }[interval]
    try:
        start, end = dt.date.fromisoformat(arguments["from"]), dt.date.fromisoformat(arguments["to"])
        periods = breakdowns.period_count(start, end, interval)
    except (KeyError, TypeError, ValueError, OverflowError):
        periods = most  # not known before the field runs (which refuses a bad range)
    return groups * min(max(periods, 1), most)
