"""GraphQL types of the enterprise store (MongoDB)."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any

import strawberry

from resolvers.common.relay import Node, to_global_id
from resolvers.common.scalars import Money

Document = dict[str, Any]


@strawberry.enum(description="Billing plan of an organization.")
class Plan(Enum):
    STARTER = "starter"
    GROWTH = "growth"
    ENTERPRISE = "enterprise"


@strawberry.enum(description="Billing state of a subscription.")
class SubscriptionStatus(Enum):
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"


@strawberry.type(description="An organization's billing subscription.")
class Subscription(Node):
    plan: Plan = strawberry.field(description="Plan billed by this subscription.")
    status: SubscriptionStatus = strawberry.field(description="Billing state.")
    seats: int = strawberry.field(description="Number of paid seats.")
    price: Money = strawberry.field(description="Price per billing period.")
    current_period_start: dt.datetime = strawberry.field(description="Start of the current billing period.")
    current_period_end: dt.datetime = strawberry.field(description="End of the current billing period.")

    @classmethod
    def from_doc(cls, doc: Document) -> Subscription:
        return cls(
            id=to_global_id("Subscription", doc["_id"]),
            plan=Plan(doc["plan"]),
            status=SubscriptionStatus(doc["status"]),
            seats=int(doc["seats"]),
            price=Money.from_cents(int(doc["amount_cents"]), doc["currency"]),
            current_period_start=doc["current_period_start"],
            current_period_end=doc["current_period_end"],
        )
