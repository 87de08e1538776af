"""The MongoDB half of `Organization`."""

from __future__ import annotations

import strawberry
from strawberry import Info

from gateway.context import RequestContext
from gateway.errors import NotFound
from resolvers.enterprise.types import Plan, Subscription

Ctx = Info[RequestContext, None]


@strawberry.type
class EnterpriseOrganization:
    """Fields of `Organization` that MongoDB answers."""

    @strawberry.field(description="Billing plan (MongoDB).")
    async def plan(self, info: Ctx) -> Plan:
        doc = await info.context.mongo.find_one("organizations")
        if doc is None:
            raise NotFound("organization not found in the enterprise store")
        return Plan(doc["plan"])

    @strawberry.field(description="The current (most recent) billing subscription (MongoDB).")
    async def subscription(self, info: Ctx) -> Subscription | None:
        docs = await info.context.mongo.find("subscriptions", sort=[("current_period_end", -1)], limit=1)
        return Subscription.from_doc(docs[0]) if docs else None
