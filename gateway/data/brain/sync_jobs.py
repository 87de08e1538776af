"""Platform sync jobs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from gateway.data.brain.sql import Where, one_by_id, org_page
from gateway.data.paging import Page, Paged
from gateway.data.rows import Row, columns
from gateway.stores.postgres import TenantReader


@dataclass(frozen=True, slots=True)
class SyncJobRow(Row):
    id: UUID
    platform: str
    status: str
    records_synced: int
    error: str | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    created_at: dt.datetime


COLUMNS = columns(SyncJobRow)


async def page(
    pg: TenantReader, page: Page, *, statuses: Sequence[str] = (), platforms: Sequence[str] = ()
) -> Paged[SyncJobRow]:
    """Sync jobs, newest first."""
    where = Where(conditions=["organization_id = $1"])
    where.any_of("status", statuses)
    where.any_of("platform", platforms)
    return await org_page(
        pg,
        key="Organization.syncJobs",
        select=f"{COLUMNS} FROM sync_jobs",
        where=where,
        order="created_at DESC, id",
        build=SyncJobRow.of,
        page=page,
    )


async def by_id(pg: TenantReader, raw: UUID) -> SyncJobRow | None:
    return await one_by_id(pg, "sync_jobs", COLUMNS, raw, SyncJobRow.of)
