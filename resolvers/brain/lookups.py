"""Fields of `Organization` that find one channel, campaign or creative by its id on its platform.

Partners know their platform's ids, not the gateway's; these answer with the
gateway's object (global id included), or null when the organization has no
such object. Another organization's objects with the same platform ids are
never seen: every lookup is scoped to the caller's organization.
"""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import Info

from gateway.core.context import RequestContext
from gateway.data.brain import catalog
from resolvers.brain.enums import Platform
from resolvers.brain.types import Campaign, Channel, Creative
from resolvers.common.enums import stored

Ctx = Info[RequestContext, None]
PlatformArg = Annotated[Platform, strawberry.argument(description="The platform.")]
ExternalIdArg = Annotated[str, strawberry.argument(description="The id on the platform.")]
AccountArg = Annotated[str, strawberry.argument(description="The account's id on the platform.")]


@strawberry.type
class PlatformLookups:
    """Lookups by platform id (PostgreSQL)."""

    @strawberry.field(description="The channel of this platform account, or null.")
    async def channel(self, info: Ctx, platform: PlatformArg, external_account_id: AccountArg) -> Channel | None:
        row = await catalog.channel_by_account(info.context.postgres, stored(platform), external_account_id)
        return Channel.from_row(row) if row is not None else None

    @strawberry.field(description="The campaign with this id on the platform, or null.")
    async def campaign(self, info: Ctx, platform: PlatformArg, external_id: ExternalIdArg) -> Campaign | None:
        row = await catalog.campaign_by_platform_id(info.context.postgres, stored(platform), external_id)
        return Campaign.from_row(row) if row is not None else None

    @strawberry.field(description="The creative with this id on the platform, or null.")
    async def creative(self, info: Ctx, platform: PlatformArg, external_id: ExternalIdArg) -> Creative | None:
        row = await catalog.creative_by_platform_id(info.context.postgres, stored(platform), external_id)
        return Creative.from_row(row) if row is not None else None
