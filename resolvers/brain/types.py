"""GraphQL types of the Brain store (PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any
from uuid import UUID

import strawberry

from resolvers.common.relay import Node, to_global_id
from resolvers.common.scalars import Money

Row = Any  # asyncpg.Record or a mapping with the same keys


@strawberry.enum(description="Lifecycle state of a campaign or creative.")
class DeliveryStatus(Enum):
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


@strawberry.type(description="An advertising campaign on one channel, with its daily budget.")
class Campaign(Node):
    raw_id: strawberry.Private[UUID]
    channel_id: strawberry.Private[UUID]
    name: str = strawberry.field(description="Campaign name as shown on the ad platform.")
    external_id: str = strawberry.field(description="The campaign's id on the ad platform.")
    status: DeliveryStatus = strawberry.field(description="Whether the campaign is delivering.")
    daily_budget: Money = strawberry.field(description="Budget per day in the campaign's currency.")
    objective: str | None = strawberry.field(description="Optimisation goal, e.g. `conversions`.")
    start_date: dt.date | None = strawberry.field(description="First day the campaign runs.")
    end_date: dt.date | None = strawberry.field(description="Last day the campaign runs; null when open-ended.")
    created_at: dt.datetime = strawberry.field(description="When the campaign was created.")
    updated_at: dt.datetime = strawberry.field(description="When the campaign was last changed.")

    @classmethod
    def from_row(cls, row: Row) -> Campaign:
        return cls(
            id=to_global_id("Campaign", row["id"]),
            raw_id=row["id"],
            channel_id=row["channel_id"],
            name=row["name"],
            external_id=row["external_id"],
            status=DeliveryStatus(row["status"]),
            daily_budget=Money.of(row["daily_budget"], row["currency"]),
            objective=row["objective"],
            start_date=row["start_date"],
            end_date=row["end_date"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


CAMPAIGN_COLUMNS = (
    "id, channel_id, name, external_id, status, daily_budget, currency, objective, "
    "start_date, end_date, created_at, updated_at"
)
