"""`Organization`: one type resolved from both stores."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import Info

from gateway.context import RequestContext
from gateway.errors import BadUserInput
from gateway.tenancy import OrgRef
from resolvers.brain.types import CAMPAIGN_COLUMNS, Campaign, DeliveryStatus
from resolvers.common.relay import Connection, Node, connection, needs_total, to_global_id, window
from resolvers.enterprise.types import Plan, Subscription

Ctx = Info[RequestContext, None]


@strawberry.input(description="Narrows a list of campaigns.")
class CampaignFilter:
    status: list[DeliveryStatus] | None = strawberry.field(default=None, description="Only these statuses.")
    name_contains: str | None = strawberry.field(default=None, description="Case-insensitive substring of the name.")


@strawberry.type(
    description="A customer organization. Enterprise fields come from MongoDB, marketing fields from PostgreSQL; "
    "each store answers independently, so one store's outage leaves the other's fields intact."
)
class Organization(Node):
    ref: strawberry.Private[OrgRef]

    @strawberry.field(description="Display name.")
    def name(self) -> str:
        return self.ref.name

    @strawberry.field(description="URL-safe unique handle, e.g. `acme`.")
    def slug(self) -> str:
        return self.ref.slug

    @strawberry.field(description="Billing plan (MongoDB).")
    async def plan(self, info: Ctx) -> Plan:
        doc = await info.context.mongo.find_one("organizations")
        if doc is None:
            raise BadUserInput("organization not found")
        return Plan(doc["plan"])

    @strawberry.field(description="The current (most recent) billing subscription (MongoDB).")
    async def subscription(self, info: Ctx) -> Subscription | None:
        docs = await info.context.mongo.find("subscriptions", sort=[("current_period_end", -1)], limit=1)
        return Subscription.from_doc(docs[0]) if docs else None

    @strawberry.field(description="Advertising campaigns (PostgreSQL), ordered by name.")
    async def campaigns(
        self,
        info: Ctx,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: Annotated[CampaignFilter | None, strawberry.argument(description="Narrow the list.")] = None,
    ) -> Connection[Campaign]:
        pg = info.context.postgres
        org = pg.organization_id
        conditions = ["organization_id = $1"]
        params: list[object] = [org]
        if filter and filter.status:
            params.append([s.value for s in filter.status])
            conditions.append(f"status = ANY(${len(params)}::text[])")
        if filter and filter.name_contains:
            params.append(filter.name_contains)
            conditions.append(f"name ILIKE '%' || ${len(params)} || '%'")
        where = " AND ".join(conditions)

        async def count() -> int:
            return int(await pg.fetchval(f"SELECT count(*) FROM campaigns WHERE {where}", *params))

        total = await count() if needs_total(last, before) else None
        win = window("Organization.campaigns", first, after, last, before, total)
        rows = await pg.fetch(
            f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE {where} ORDER BY name, id "
            f"OFFSET ${len(params) + 1} LIMIT ${len(params) + 2}",
            *params,
            win.offset,
            win.limit,
        )
        return connection(win, [Campaign.from_row(r) for r in rows], count)


def organization_of(ref: OrgRef) -> Organization:
    return Organization(id=to_global_id("Organization", ref.enterprise_id), ref=ref)
