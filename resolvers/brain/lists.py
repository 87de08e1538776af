"""The `filter:` and `orderBy:` inputs of the Brain store's lists, and their conversion to data-access values.

Every list takes `filter: <X>Filter` (every condition given must hold; a list
of values means any of them) and `orderBy: [<X>Order!]` (keys in turn, the
unique id appended as the last tie-break, going the way the first key goes).
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated
from uuid import UUID

import strawberry

from gateway.data import ids
from gateway.data.brain import (
    campaigns,
    channels,
    cohorts,
    creatives,
)
from resolvers.brain.enums import (
    ChannelStatus,
    CreativeFormat,
    DeliveryStatus,
    Platform,
)
from resolvers.brain.kpis import KpiFilter, kpi_filter
from resolvers.common.enums import stored_values
from resolvers.common.filters import (
    DateRange,
    DateTimeRange,
    DecimalComparison,
    IntComparison,
    OrderDirection,
    comparison,
    day_range,
    time_range,
)
from resolvers.common.scalars import Currency

DIRECTION_DESCRIPTION = "Which way; NULL (e.g. a KPI of a row without metrics in the range) comes last either way."
KPI = "{} over `metricsRange`."
KPI_FILTER = "Only {} whose KPIs over `metricsRange` are within these bounds."

MetricsRange = Annotated[
    DateRange | None,
    strawberry.argument(
        description="Days over which KPI sort keys (SPEND, ROAS, ...) are computed, both inclusive; "
        "the last 30 days (UTC, today included) when left out. Only an `orderBy` naming a KPI and `filter.kpi` use it."
    ),
]


def optional_uuid(value: strawberry.ID | None, type_name: str) -> UUID | None:
    return ids.uuid_id(value, type_name) if value else None


# --- channels ---------------------------------------------------------------------------------


@strawberry.input(description="Narrows a list of channels.")
class ChannelFilter:
    platform: list[Platform] | None = strawberry.field(default=None, description="Only these platforms.")
    status: list[ChannelStatus] | None = strawberry.field(default=None, description="Only these statuses.")
    name_contains: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of the name, taken literally (`%` and `_` too)."
    )
    created_at: DateTimeRange | None = strawberry.field(default=None, description="Only channels connected then.")
    external_account_id: str | None = strawberry.field(default=None, description="Only the channel of this account id.")


@strawberry.enum(description="What to sort channels by.")
class ChannelOrderField(Enum):
    PLATFORM = strawberry.enum_value("platform", description="By platform.")
    NAME = strawberry.enum_value("name", description="By name.")
    STATUS = strawberry.enum_value("status", description="By status.")
    CREATED_AT = strawberry.enum_value("created_at", description="By connection time.")


@strawberry.input(description="One key of the order of channels.")
class ChannelOrder:
    field: ChannelOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description=DIRECTION_DESCRIPTION)


def channel_filter(flt: ChannelFilter | None) -> channels.ChannelFilter:
    flt = flt or ChannelFilter()
    return channels.ChannelFilter(
        platforms=stored_values(flt.platform),
        statuses=stored_values(flt.status),
        name_contains=flt.name_contains,
        created_at=time_range(flt.created_at),
        external_account_id=flt.external_account_id,
    )


# --- campaigns --------------------------------------------------------------------------------


@strawberry.input(description="Narrows a list of campaigns.")
class CampaignFilter:
    status: list[DeliveryStatus] | None = strawberry.field(default=None, description="Only these statuses.")
    platform: list[Platform] | None = strawberry.field(
        default=None, description="Only campaigns on channels of these platforms."
    )
    channel_id: strawberry.ID | None = strawberry.field(default=None, description="Only campaigns of this channel.")
    currency: list[Currency] | None = strawberry.field(default=None, description="Only campaigns in these currencies.")
    name_contains: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of the name, taken literally (`%` and `_` too)."
    )
    created_at: DateTimeRange | None = strawberry.field(default=None, description="Only campaigns created then.")
    updated_at: DateTimeRange | None = strawberry.field(default=None, description="Only campaigns last changed then.")
    start_date: DateRange | None = strawberry.field(
        default=None, description="Only campaigns starting on these days (none without a start date)."
    )
    daily_budget: DecimalComparison | None = strawberry.field(
        default=None, description="Only campaigns whose daily budget (in their own currency) is within these bounds."
    )
    kpi: KpiFilter | None = strawberry.field(default=None, description=KPI_FILTER.format("campaigns"))
    external_id: str | None = strawberry.field(default=None, description="Only campaigns with this platform id.")


@strawberry.enum(description="What to sort campaigns by: a field, or a KPI over `metricsRange`.")
class CampaignOrderField(Enum):
    NAME = strawberry.enum_value("name", description="By name.")
    STATUS = strawberry.enum_value("status", description="By status.")
    CREATED_AT = strawberry.enum_value("created_at", description="By creation time.")
    UPDATED_AT = strawberry.enum_value("updated_at", description="By time of the last change.")
    START_DATE = strawberry.enum_value("start_date", description="By first day (campaigns without one last).")
    DAILY_BUDGET = strawberry.enum_value("daily_budget", description="By daily budget (amount, whatever currency).")
    SPEND = strawberry.enum_value("spend", description=KPI.format("Spend"))
    REVENUE = strawberry.enum_value("revenue", description=KPI.format("Revenue"))
    ROAS = strawberry.enum_value("roas", description=KPI.format("Return on ad spend"))
    CTR = strawberry.enum_value("ctr", description=KPI.format("Click-through rate"))
    CPC = strawberry.enum_value("cpc", description=KPI.format("Cost per click"))
    CPA = strawberry.enum_value("cpa", description=KPI.format("Cost per acquisition"))
    CONVERSIONS = strawberry.enum_value("conversions", description=KPI.format("Conversions"))
    IMPRESSIONS = strawberry.enum_value("impressions", description=KPI.format("Impressions"))
    CLICKS = strawberry.enum_value("clicks", description=KPI.format("Clicks"))


@strawberry.input(description="One key of the order of campaigns.")
class CampaignOrder:
    field: CampaignOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description=DIRECTION_DESCRIPTION)


def campaign_filter(flt: CampaignFilter | None) -> campaigns.CampaignFilter:
    flt = flt or CampaignFilter()
    return campaigns.CampaignFilter(
        statuses=stored_values(flt.status),
        platforms=stored_values(flt.platform),
        currencies=tuple(flt.currency or ()),
        channel_id=optional_uuid(flt.channel_id, "Channel"),
        name_contains=flt.name_contains,
        created_at=time_range(flt.created_at),
        updated_at=time_range(flt.updated_at),
        start_date=day_range(flt.start_date),
        daily_budget=comparison(flt.daily_budget),
        kpis=kpi_filter(flt.kpi),
        external_id=flt.external_id,
    )


# --- creatives --------------------------------------------------------------------------------


@strawberry.input(description="Narrows a list of creatives.")
class CreativeFilter:
    status: list[DeliveryStatus] | None = strawberry.field(default=None, description="Only these statuses.")
    format: list[CreativeFormat] | None = strawberry.field(default=None, description="Only these formats.")
    campaign_id: strawberry.ID | None = strawberry.field(default=None, description="Only creatives of this campaign.")
    name_contains: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of the name, taken literally (`%` and `_` too)."
    )
    created_at: DateTimeRange | None = strawberry.field(default=None, description="Only creatives created then.")
    updated_at: DateTimeRange | None = strawberry.field(default=None, description="Only creatives last changed then.")
    kpi: KpiFilter | None = strawberry.field(default=None, description=KPI_FILTER.format("creatives"))
    external_id: str | None = strawberry.field(default=None, description="Only creatives with this platform id.")


@strawberry.enum(description="What to sort creatives by: a field, or a KPI over `metricsRange`.")
class CreativeOrderField(Enum):
    NAME = strawberry.enum_value("name", description="By name.")
    STATUS = strawberry.enum_value("status", description="By status.")
    FORMAT = strawberry.enum_value("format", description="By format.")
    CREATED_AT = strawberry.enum_value("created_at", description="By creation time.")
    UPDATED_AT = strawberry.enum_value("updated_at", description="By time of the last change.")
    SPEND = strawberry.enum_value("spend", description=KPI.format("Spend"))
    REVENUE = strawberry.enum_value("revenue", description=KPI.format("Revenue"))
    ROAS = strawberry.enum_value("roas", description=KPI.format("Return on ad spend"))
    CTR = strawberry.enum_value("ctr", description=KPI.format("Click-through rate"))
    CPC = strawberry.enum_value("cpc", description=KPI.format("Cost per click"))
    CPA = strawberry.enum_value("cpa", description=KPI.format("Cost per acquisition"))
    CONVERSIONS = strawberry.enum_value("conversions", description=KPI.format("Conversions"))
    IMPRESSIONS = strawberry.enum_value("impressions", description=KPI.format("Impressions"))
    CLICKS = strawberry.enum_value("clicks", description=KPI.format("Clicks"))


@strawberry.input(description="One key of the order of creatives.")
class CreativeOrder:
    field: CreativeOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description=DIRECTION_DESCRIPTION)


def creative_filter(flt: CreativeFilter | None) -> creatives.CreativeFilter:
    flt = flt or CreativeFilter()
    return creatives.CreativeFilter(
        statuses=stored_values(flt.status),
        formats=stored_values(flt.format),
        campaign_id=optional_uuid(flt.campaign_id, "Campaign"),
        name_contains=flt.name_contains,
        created_at=time_range(flt.created_at),
        updated_at=time_range(flt.updated_at),
        kpis=kpi_filter(flt.kpi),
        external_id=flt.external_id,
    )


# --- cohorts ----------------------------------------------------------------------------------


@strawberry.input(description="Narrows a list of cohorts.")
class CohortFilter:
    channel_id: strawberry.ID | None = strawberry.field(default=None, description="Only cohorts of this channel.")
    month: DateRange | None = strawberry.field(
        default=None, description="Only cohorts whose acquisition month (its first day) lies in these days."
    )
    customers: IntComparison | None = strawberry.field(
        default=None, description="Only cohorts whose customer count is within these bounds."
    )


@strawberry.enum(description="What to sort cohorts by.")
class CohortOrderField(Enum):
    MONTH = strawberry.enum_value("month", description="By acquisition month.")
    CUSTOMERS = strawberry.enum_value("customers", description="By customers acquired.")


@strawberry.input(description="One key of the order of cohorts.")
class CohortOrder:
    field: CohortOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description=DIRECTION_DESCRIPTION)


def cohort_filter(flt: CohortFilter | None) -> cohorts.CohortFilter:
    flt = flt or CohortFilter()
    return cohorts.CohortFilter(
        channel_id=optional_uuid(flt.channel_id, "Channel"),
        months=day_range(flt.month),
        customers=comparison(flt.customers),
    )


# --- brain states -----------------------------------------------------------------------------
