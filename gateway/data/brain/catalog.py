"""Catalog sync: channels, campaigns and creatives read and written by their platform ids.

Every function reads or writes a whole batch in one statement (arrays in,
`unnest` in SQL), whatever the number of rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import NamedTuple
from uuid import UUID

import asyncpg

from gateway.data.brain import campaigns as campaign_rows
from gateway.data.brain import channels as channel_rows
from gateway.data.brain import creatives as creative_rows
from gateway.data.brain.campaigns import CampaignRow
from gateway.data.brain.channels import ChannelRow
from gateway.data.brain.creatives import CreativeRow
from gateway.data.rows import row_of
from gateway.stores.postgres import TenantConnection, TenantReader

Key = tuple[str, str]  # (platform, id on the platform)


class StoredChannel(NamedTuple):
    id: UUID
    platform: str
    name: str
    status: str
    external_account_id: str | None


class StoredCampaign(NamedTuple):
    id: UUID
    channel_id: UUID
    platform: str
    external_id: str
    name: str
    status: str
    daily_budget: Decimal
    currency: str
    objective: str | None
    start_date: dt.date | None
    end_date: dt.date | None


class StoredCreative(NamedTuple):
    id: UUID
    campaign_id: UUID
    platform: str
    external_id: str
    name: str
    format: str
    status: str
    headline: str | None


class ChannelWrite(NamedTuple):
    """A channel to insert (id None) or to update (id set)."""

    id: UUID | None
    platform: str
    external_account_id: str
    name: str
    status: str


# --- lookups by platform id (queries) -------------------------------------------------------


async def _by_platform_key(
    pg: TenantReader, table: str, columns: str, key_column: str, platform: str, key: str
) -> asyncpg.Record | None:
    # table, columns and key_column are this module's constants, never input
    return await pg.fetchrow(
        f"SELECT {columns} FROM {table} WHERE organization_id = $1 AND platform = $2 AND {key_column} = $3",
        pg.organization_id,
        platform,
        key,
    )


async def channel_by_account(pg: TenantReader, platform: str, account: str) -> ChannelRow | None:
    row = await _by_platform_key(pg, "channels", channel_rows.COLUMNS, "external_account_id", platform, account)
    return row_of(ChannelRow)(row) if row is not None else None


async def campaign_by_platform_id(pg: TenantReader, platform: str, external_id: str) -> CampaignRow | None:
    row = await _by_platform_key(pg, "campaigns", campaign_rows.COLUMNS, "external_id", platform, external_id)
    return row_of(CampaignRow)(row) if row is not None else None


async def creative_by_platform_id(pg: TenantReader, platform: str, external_id: str) -> CreativeRow | None:
    row = await _by_platform_key(pg, "creatives", creative_rows.COLUMNS, "external_id", platform, external_id)
    return row_of(CreativeRow)(row) if row is not None else None


# --- catalog sync (inside a mutation's transaction) -----------------------------------------


async def lock(tx: TenantConnection) -> None:
    """Catalog syncs of one organization run one at a time, so what a sync read stays true until it writes."""
    await tx.execute("SELECT pg_advisory_xact_lock(hashtextextended('catalog:' || $1, 0))", str(tx.organization_id))


async def channels(tx: TenantConnection) -> list[StoredChannel]:
    """All the organization's channels: an organization has a few dozen at most."""
    records = await tx.fetch(
        "SELECT id, platform, name, status, external_account_id FROM channels WHERE organization_id = $1",
        tx.organization_id,
    )
    return [row_of(StoredChannel)(r) for r in records]


def _split(keys: Sequence[Key]) -> tuple[list[str], list[str]]:
    return [k[0] for k in keys], [k[1] for k in keys]


async def campaigns(tx: TenantConnection, keys: Sequence[Key]) -> dict[Key, StoredCampaign]:
    platforms, external_ids = _split(keys)
    records = await tx.fetch(
        "SELECT id, channel_id, platform, external_id, name, status, daily_budget, currency, objective, "
        "start_date, end_date FROM campaigns WHERE organization_id = $1 "
        "AND (platform, external_id) IN (SELECT * FROM unnest($2::text[], $3::text[]))",
        tx.organization_id,
        platforms,
        external_ids,
    )
    rows = [row_of(StoredCampaign)(r) for r in records]
    return {(r.platform, r.external_id): r for r in rows}


async def creatives(tx: TenantConnection, keys: Sequence[Key]) -> dict[Key, StoredCreative]:
    platforms, external_ids = _split(keys)
    records = await tx.fetch(
        "SELECT id, campaign_id, platform, external_id, name, format, status, headline FROM creatives "
        "WHERE organization_id = $1 AND (platform, external_id) IN (SELECT * FROM unnest($2::text[], $3::text[]))",
        tx.organization_id,
        platforms,
        external_ids,
    )
    rows = [row_of(StoredCreative)(r) for r in records]
    return {(r.platform, r.external_id): r for r in rows}


async def creative_ids(tx: TenantConnection, keys: Sequence[Key]) -> dict[Key, UUID]:
    """The ids of the organization's creatives with these platform ids; unknown keys are absent."""
    platforms, external_ids = _split(keys)
    records = await tx.fetch(
        "SELECT id, platform, external_id FROM creatives WHERE organization_id = $1 "
        "AND (platform, external_id) IN (SELECT * FROM unnest($2::text[], $3::text[]))",
        tx.organization_id,
        platforms,
        external_ids,
    )
    return {(r["platform"], r["external_id"]): r["id"] for r in records}


async def write_channels(tx: TenantConnection, rows: Sequence[ChannelWrite]) -> dict[Key, UUID]:
    """Insert the new channels and update the others; the ids of all of them by (platform, account id)."""
    new = [r for r in rows if r.id is None]
    old = [r for r in rows if r.id is not None]
    ids: dict[Key, UUID] = {}
    if new:
        records = await tx.fetch(
            "INSERT INTO channels (organization_id, platform, external_account_id, name, status) "
            "SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) "
            "RETURNING id, platform, external_account_id",
            tx.organization_id,
            [r.platform for r in new],
            [r.external_account_id for r in new],
            [r.name for r in new],
            [r.status for r in new],
        )
        ids.update({(r["platform"], r["external_account_id"]): r["id"] for r in records})
    if old:
        await tx.execute(
            "UPDATE channels c SET external_account_id = u.account, name = u.name, status = u.status "
            "FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[]) AS u(id, account, name, status) "
            "WHERE c.organization_id = $1 AND c.id = u.id",
            tx.organization_id,
            [r.id for r in old],
            [r.external_account_id for r in old],
            [r.name for r in old],
            [r.status for r in old],
        )
        ids.update({(r.platform, r.external_account_id): r.id for r in old if r.id is not None})
    return ids


class CampaignWrite(NamedTuple):
    channel_id: UUID
    external_id: str
    name: str
    status: str
    daily_budget: Decimal
    currency: str
    objective: str | None
    start_date: dt.date | None
    end_date: dt.date | None


class CreativeWrite(NamedTuple):
    campaign_id: UUID
    external_id: str
    name: str
    format: str
    status: str
    headline: str | None


class Written(NamedTuple):
    id: UUID
    platform: str
    external_id: str
    inserted: bool


# The platform column is the trigger's (from the parent), so the conflict target
# sees it; a conflicting row keeps its id and parent and takes the platform's fields.
# `xmax = 0` holds for freshly inserted rows only.
async def write_campaigns(tx: TenantConnection, rows: Sequence[CampaignWrite]) -> list[Written]:
    if not rows:
        return []
    records = await tx.fetch(
        "INSERT INTO campaigns (organization_id, channel_id, external_id, name, status, daily_budget, currency, "
        "objective, start_date, end_date) "
        "SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::numeric[], $7::text[], "
        "$8::text[], $9::date[], $10::date[]) "
        "ON CONFLICT (organization_id, platform, external_id) DO UPDATE SET name = EXCLUDED.name, "
        "status = EXCLUDED.status, daily_budget = EXCLUDED.daily_budget, currency = EXCLUDED.currency, "
        "objective = EXCLUDED.objective, start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date, "
        "updated_at = now() "
        "RETURNING id, platform, external_id, (xmax = 0) AS inserted",
        tx.organization_id,
        *(list(column) for column in zip(*rows, strict=True)),
    )
    return [row_of(Written)(r) for r in records]


async def write_creatives(tx: TenantConnection, rows: Sequence[CreativeWrite]) -> list[Written]:
    if not rows:
        return []
    records = await tx.fetch(
        "INSERT INTO creatives (organization_id, campaign_id, external_id, name, format, status, headline) "
        "SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) "
        "ON CONFLICT (organization_id, platform, external_id) DO UPDATE SET name = EXCLUDED.name, "
        "format = EXCLUDED.format, status = EXCLUDED.status, headline = EXCLUDED.headline, updated_at = now() "
        "RETURNING id, platform, external_id, (xmax = 0) AS inserted",
        tx.organization_id,
        *(list(column) for column in zip(*rows, strict=True)),
    )
    return [row_of(Written)(r) for r in records]
