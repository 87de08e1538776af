"""What the catalog mutations share: limits, error codes, the rows a partner sends."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import Enum

import strawberry

from resolvers.actions.common import IdempotencyKey
from resolvers.actions.errors import UserError, UserErrorCode, codes
from resolvers.brain.enums import CreativeFormat, DeliveryStatus, Platform

MAX_ROWS = 5_000  # channels, campaigns and creatives together
MAX_EXTERNAL_ID = 200
MAX_HEADLINE = 500
MAX_OBJECTIVE = 100
MAX_REPORTED_ERRORS = 100


# The codes the catalog and channel mutations may answer in `userErrors`; `typed_errors` refuses others.
CATALOG_CODES = codes(
    UserErrorCode.NO_ROWS,
    UserErrorCode.TOO_MANY_ROWS,
    UserErrorCode.DUPLICATE_ROW,
    UserErrorCode.INVALID_ID,
    UserErrorCode.INVALID_EXTERNAL_ID,
    UserErrorCode.INVALID_NAME,
    UserErrorCode.INVALID_TEXT,
    UserErrorCode.INVALID_AMOUNT,
    UserErrorCode.INVALID_CURRENCY,
    UserErrorCode.INVALID_DATES,
    UserErrorCode.INVALID_STATUS,
    UserErrorCode.FORMAT_REQUIRED,
    UserErrorCode.NAME_TAKEN,
    UserErrorCode.ACCOUNT_TAKEN,
    UserErrorCode.NOT_FOUND,
    UserErrorCode.PARENT_MISMATCH,
    UserErrorCode.CHANNEL_DISCONNECTED,
    UserErrorCode.ALREADY_DISCONNECTED,
)


@strawberry.type(description="Why a catalog call did not apply. Nothing was changed.")
class CatalogError(UserError):
    """Fields from `UserError`; the code is one of `CATALOG_CODES`."""


@strawberry.enum(description="A channel's state as a catalog sync may set it.")
class SyncedChannelStatus(Enum):
    ACTIVE = strawberry.enum_value("active", description="Connected and syncing.")
    PAUSED = strawberry.enum_value("paused", description="Connected, syncing suspended.")


@strawberry.input(description="A channel (an account on an ad platform), keyed by platform and account id.")
class CatalogChannelInput:
    platform: Platform = strawberry.field(description="The platform of the account.")
    external_account_id: str = strawberry.field(
        description=f"The account's id on the platform (1 to {MAX_EXTERNAL_ID} characters); the channel's key."
    )
    name: str = strawberry.field(
        description="The channel's name; unique per platform in the organization. A channel of the same platform "
        "and name without an account id yet is adopted: it takes the account id and keeps its own id."
    )
    status: SyncedChannelStatus | None = strawberry.field(
        default=None, description="Active or paused; null keeps the stored status (`ACTIVE` for a new channel)."
    )


@strawberry.input(description="A campaign, keyed by platform and external id; null fields keep stored values.")
class CatalogCampaignInput:
    platform: Platform = strawberry.field(description="The campaign's platform.")
    external_id: str = strawberry.field(description="The campaign's id on the platform; its key with the platform.")
    channel_external_account_id: str = strawberry.field(
        description="The account id of its channel (same platform), synced before or in the same call."
    )
    name: str = strawberry.field(description="The campaign's name on the platform.")
    status: DeliveryStatus | None = strawberry.field(
        default=None, description="Null keeps it (`ACTIVE` when new); an archived one stays `ARCHIVED`."
    )
    daily_budget: Decimal | None = strawberry.field(
        default=None, description='Daily budget, e.g. `"250.00"`; null keeps it (0 when new).'
    )
    currency: str | None = strawberry.field(
        default=None, description="ISO 4217 code of the budget, e.g. `EUR`; null keeps it (`USD` when new)."
    )
    objective: str | None = strawberry.field(default=None, description="Optimisation goal; null keeps it.")
    start_date: dt.date | None = strawberry.field(default=None, description="First day; null keeps it.")
    end_date: dt.date | None = strawberry.field(default=None, description="Last day; null keeps it.")


@strawberry.input(description="A creative, keyed by platform and external id; null fields keep stored values.")
class CatalogCreativeInput:
    platform: Platform = strawberry.field(description="The creative's platform.")
    external_id: str = strawberry.field(description="The creative's id on the platform; its key with the platform.")
    campaign_external_id: str = strawberry.field(
        description="The external id of its campaign (same platform), synced before or in the same call."
    )
    name: str = strawberry.field(description="The creative's name on the platform.")
    format: CreativeFormat | None = strawberry.field(
        default=None, description="Required for a new creative; null keeps it."
    )
    status: DeliveryStatus | None = strawberry.field(
        default=None, description="Null keeps it (`ACTIVE` when new); an archived one stays `ARCHIVED`."
    )
    headline: str | None = strawberry.field(
        default=None, description=f"Headline (at most {MAX_HEADLINE} characters); null keeps it."
    )


@strawberry.input(
    description=f"Channels, campaigns and creatives to create or update by their platform ids: up to {MAX_ROWS:,} "
    "rows in all, in one transaction. One invalid row rejects the whole call."
)
class SyncCatalogInput:
    channels: list[CatalogChannelInput] = strawberry.field(default_factory=list, description="Channels.")
    campaigns: list[CatalogCampaignInput] = strawberry.field(default_factory=list, description="Campaigns.")
    creatives: list[CatalogCreativeInput] = strawberry.field(default_factory=list, description="Creatives.")
    idempotency_key: str | None = IdempotencyKey


@strawberry.enum(description="What a catalog sync did with one row.")
class SyncResult(Enum):
    CREATED = strawberry.enum_value("created", description="A new object was created.")
    UPDATED = strawberry.enum_value("updated", description="Platform-owned fields changed; the id stayed.")
    UNCHANGED = strawberry.enum_value("unchanged", description="Nothing differed; nothing was written.")


@strawberry.type(description="One row of a catalog sync: what happened and the gateway's id for it.")
class SyncedRow:
    index: int = strawberry.field(description="The row's position in its input list.")
    external_id: str = strawberry.field(description="The row's key on the platform (the account id for channels).")
    id: strawberry.ID = strawberry.field(description="The gateway's global id: stable, never changed by a sync.")
    result: SyncResult = strawberry.field(description="Created, updated or unchanged.")
