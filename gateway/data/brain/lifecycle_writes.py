"""Status changes and edits of campaigns and creatives, many rows per statement (inside a mutation's transaction).

Every statement that locks several rows locks them in id order, whatever order the caller
named them in: two transactions over overlapping sets (a bulk pause and a bulk resume) then
queue behind each other at their first common row instead of each holding a row the other
waits for, so they never deadlock and the second sees every row as the first left it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from uuid import UUID

from gateway.core.rules.lifecycle import CampaignFields
from gateway.data.brain.campaigns import COLUMNS as CAMPAIGN_COLUMNS
from gateway.data.brain.campaigns import CampaignRow
from gateway.data.brain.creatives import COLUMNS as CREATIVE_COLUMNS
from gateway.data.brain.creatives import CreativeRow
from gateway.data.rows import columns, row_of
from gateway.stores.postgres import TenantConnection

# An id of another organization is simply absent from every answer here (filtered by the
# statements, and hidden by row-level security): it reads exactly as an id of nothing.


async def lock_creatives(tx: TenantConnection, ids: Sequence[UUID]) -> dict[UUID, CreativeRow]:
    """The organization's creatives among `ids`, locked for update in id order."""
    records = await tx.fetch(
        f"SELECT {CREATIVE_COLUMNS} FROM creatives WHERE organization_id = $1 AND id = ANY($2::uuid[]) "
        "ORDER BY id FOR UPDATE",
        tx.organization_id,
        sorted(ids),
    )
    read = row_of(CreativeRow)
    return {r["id"]: read(r) for r in records}


async def set_creative_statuses(tx: TenantConnection, ids: Sequence[UUID], status: str) -> list[CreativeRow]:
    """Set the status of creatives the caller holds locked, in one statement."""
    records = await tx.fetch(
        "UPDATE creatives SET status = $3, updated_at = now() WHERE organization_id = $1 AND id = ANY($2::uuid[]) "
        f"RETURNING {CREATIVE_COLUMNS}",
        tx.organization_id,
        sorted(ids),
        status,
    )
    return [row_of(CreativeRow)(r) for r in records]


async def archive_creatives_of(tx: TenantConnection, campaign_id: UUID) -> list[tuple[CreativeRow, str]]:
    """Archive a campaign's creatives that are not archived yet, in one statement: each after, with its status before.

    The caller holds the campaign locked; the creatives are locked in id order before they change.
    """
    records = await tx.fetch(
        "WITH locked AS (SELECT id, status FROM creatives WHERE organization_id = $1 AND campaign_id = $2 "
        "AND status <> 'archived' ORDER BY id FOR UPDATE) "
        "UPDATE creatives c SET status = 'archived', updated_at = now() FROM locked "
        f"WHERE c.organization_id = $1 AND c.id = locked.id RETURNING {columns(CreativeRow, 'c.')}, "
        "locked.status AS previous",
        tx.organization_id,
        campaign_id,
    )
    read = row_of(CreativeRow)
    return sorted(((read(r), str(r["previous"])) for r in records), key=lambda pair: pair[0].id)


async def set_campaign_statuses(tx: TenantConnection, ids: Sequence[UUID], status: str) -> list[CampaignRow]:
    """Set the status of campaigns the caller holds locked (`campaigns.lock`), in one statement."""
    records = await tx.fetch(
        "UPDATE campaigns SET status = $3, updated_at = now() WHERE organization_id = $1 AND id = ANY($2::uuid[]) "
        f"RETURNING {CAMPAIGN_COLUMNS}",
        tx.organization_id,
        sorted(ids),
        status,
    )
    return [row_of(CampaignRow)(r) for r in records]


async def edit_campaign(tx: TenantConnection, campaign_id: UUID, fields: CampaignFields) -> CampaignRow:
    """Write a locked campaign's editable fields (a trigger raises its version with the row)."""
    record = await tx.fetchrow(
        "UPDATE campaigns SET name = $3, objective = $4, start_date = $5, end_date = $6, updated_at = now() "
        f"WHERE organization_id = $1 AND id = $2 RETURNING {CAMPAIGN_COLUMNS}",
        tx.organization_id,
        campaign_id,
        fields.name,
        fields.objective,
        fields.start_date,
        fields.end_date,
    )
    assert record is not None  # the caller holds the row's lock
    return row_of(CampaignRow)(record)


def fields_of(row: CampaignRow) -> CampaignFields:
    return CampaignFields(row.name, row.objective, row.start_date, row.end_date)


def as_text(value: dt.date | str | None) -> str | None:
    """A field's value as an action log records it."""
    return None if value is None else str(value)
