"""Platform sync jobs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from aiodataloader import DataLoader

from gateway.context import RequestContext
from gateway.data.brain.sql import Where, loader_by_id, ordered, org_page, sort_key
from gateway.data.paging import Page, Paged
from gateway.data.rows import Row, columns
from gateway.stores.postgres import TenantConnection, TenantReader


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
        ordering=ordered([sort_key("created_at", "t", descending=True)], "id"),
        build=SyncJobRow.of,
        page=page,
    )


def by_id(ctx: RequestContext) -> DataLoader[UUID, SyncJobRow | None]:
    return loader_by_id(ctx, "sync_jobs", COLUMNS, SyncJobRow.of)


# --- writes (inside a mutation's transaction) ---------------------------------------------


async def _written(tx: TenantConnection, sql: str, *args: Any) -> SyncJobRow:
    """The job an INSERT/UPDATE ... RETURNING wrote, where the statement cannot miss."""
    row = await tx.fetchrow(sql, *args)
    assert row is not None
    return SyncJobRow.of(row)


async def start(tx: TenantConnection, platform: str) -> SyncJobRow:
    return await _written(
        tx,
        f"INSERT INTO sync_jobs (organization_id, platform, status, started_at) "
        f"VALUES ($1, $2, 'running', now()) RETURNING {COLUMNS}",
        tx.organization_id,
        platform,
    )


async def lock(tx: TenantConnection, job_id: UUID) -> SyncJobRow | None:
    """The job, locked: a batch and the finish of one job serialise, so no rows are counted into a closed job."""
    row = await tx.fetchrow(
        f"SELECT {COLUMNS} FROM sync_jobs WHERE organization_id = $1 AND id = $2 FOR UPDATE",
        tx.organization_id,
        job_id,
    )
    return SyncJobRow.of(row) if row is not None else None


async def add_records(tx: TenantConnection, job_id: UUID, records: int) -> SyncJobRow:
    return await _written(
        tx,
        f"UPDATE sync_jobs SET records_synced = records_synced + $3 WHERE organization_id = $1 AND id = $2 "
        f"RETURNING {COLUMNS}",
        tx.organization_id,
        job_id,
        records,
    )


async def finish(tx: TenantConnection, job_id: UUID, status: str, error: str | None) -> SyncJobRow:
    return await _written(
        tx,
        f"UPDATE sync_jobs SET status = $3, error = $4, finished_at = now() "
        f"WHERE organization_id = $1 AND id = $2 RETURNING {COLUMNS}",
        tx.organization_id,
        job_id,
        status,
        error,
    )
