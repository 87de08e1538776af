"""The PostgreSQL half of `Organization`."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import Info

from gateway.context import RequestContext
from resolvers.brain.types import CAMPAIGN_COLUMNS, Campaign, DeliveryStatus
from resolvers.common.relay import Connection, connection, needs_total, window

Ctx = Info[RequestContext, None]


@strawberry.input(description="Narrows a list of campaigns.")
class CampaignFilter:
    status: list[DeliveryStatus] | None = strawberry.field(default=None, description="Only these statuses.")
    name_contains: str | None = strawberry.field(default=None, description="Case-insensitive substring of the name.")


@strawberry.type
class BrainOrganization:
    """Fields of `Organization` that PostgreSQL answers."""

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
        conditions = ["organization_id = $1"]
        params: list[object] = [pg.organization_id]
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
