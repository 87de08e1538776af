"""Platform sync jobs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple
from uuid import UUID

from aiodataloader import DataLoader

from gateway.core.context import RequestContext
from gateway.data.brain.sql import Sortable, Where, loader_by_id, ordering_of, org_page, status_counts
from gateway.data.filters import Comparison, Sort, TimeRange
from gateway.data.paging import Page, Paged
from gateway.data.rows import columns, row_of
from gateway.stores.postgres import TenantConnection, TenantReader


class SyncJobRow(NamedTuple):
    id: UUID
    platform: str
    status: str
    records_synced: int
    error: str | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    created_at: dt.datetime
    channel_id: UUID | None
    credential_id: UUID | None


COLUMNS = columns(SyncJobRow)


@dataclass(frozen=True)
class SyncJobFilter:
    statuses: Sequence[str] = ()
    platforms: Sequence[str] = ()
    created_at: TimeRange | None = None
    started_at: TimeRange | None = None
    finished_at: TimeRange | None = None
    records_synced: Comparison | None = None


SORTABLE = {
    "created_at": Sortable("t.created_at", "t"),
    "started_at": Sortable("t.started_at", "t", nullable=True),
    "finished_at": Sortable("t.finished_at", "t", nullable=True),
    "status": Sortable("t.status", "s"),
    "platform": Sortable("t.platform", "s"),
    "records_synced": Sortable("t.records_synced", "i"),
}
NEWEST_FIRST = (Sort("created_at", descending=True),)


def _where(flt: SyncJobFilter) -> Where:
    where = Where(conditions=["t.organization_id = $1"])
    where.any_of("t.status", flt.statuses)
    where.any_of("t.platform", flt.platforms)
    where.within("t.created_at", flt.created_at)
    where.within("t.started_at", flt.started_at)
    where.within("t.finished_at", flt.finished_at)
    where.compare("t.records_synced", flt.records_synced, "bigint")
    return where


async def page(
    pg: TenantReader, page: Page, flt: SyncJobFilter, sorts: Sequence[Sort] = NEWEST_FIRST
) -> Paged[SyncJobRow]:
    """Sync jobs, newest first unless told otherwise."""
    return await org_page(
        pg,
        key="Organization.syncJobs",
        row_type=SyncJobRow,
        tables="sync_jobs t",
        where=_where(flt),
        ordering=ordering_of(sorts or NEWEST_FIRST, SORTABLE),
        page=page,
    )


async def counts_by_status(pg: TenantReader, flt: SyncJobFilter) -> dict[str, int]:
    """Sync jobs per status, filtered by everything but status."""
    return await status_counts(pg, "sync_jobs t", _where(replace(flt, statuses=())))


def by_id(ctx: RequestContext) -> DataLoader[UUID, SyncJobRow | None]:
    return loader_by_id(ctx, "sync_jobs", COLUMNS, row_of(SyncJobRow))


# --- writes (inside a mutation's transaction) ---------------------------------------------


async def _written(tx: TenantConnection, sql: str, *args: Any) -> SyncJobRow:
    """The job an INSERT/UPDATE ... RETURNING wrote, where the statement cannot miss."""
    row = await tx.fetchrow(sql, *args)
    assert row is not None
    return row_of(SyncJobRow)(row)


async def start(tx: TenantConnection, platform: str, channel_id: UUID | None = None) -> SyncJobRow:
    return await _written(
        tx,
        f"INSERT INTO sync_jobs (organization_id, platform, status, started_at, channel_id) "
        f"VALUES ($1, $2, 'running', now(), $3) RETURNING {COLUMNS}",
        tx.organization_id,
        platform,
        channel_id,
    )


async def request(tx: TenantConnection, platform: str, channel_id: UUID) -> SyncJobRow:
    """A queued job for the channel, with the organization's newest active credential of its platform, if any."""
    return await _written(
        tx,
        f"INSERT INTO sync_jobs (organization_id, platform, status, channel_id, credential_id) "
        f"VALUES ($1, $2, 'queued', $3, (SELECT c.id FROM api_credentials c WHERE c.organization_id = $1 "
        f"AND c.platform = $2 AND c.status = 'active' ORDER BY c.created_at DESC, c.id LIMIT 1)) RETURNING {COLUMNS}",
        tx.organization_id,
        platform,
        channel_id,
    )


async def claim(tx: TenantConnection, job_id: UUID) -> SyncJobRow | None:
    """The queued job, now running; None when it is not queued (any more).

    A concurrent claim waits for the first one's row lock, then finds the job
    no longer queued: exactly one claimant wins.
    """
    row = await tx.fetchrow(
        f"UPDATE sync_jobs SET status = 'running', started_at = now() "
        f"WHERE organization_id = $1 AND id = $2 AND status = 'queued' RETURNING {COLUMNS}",
        tx.organization_id,
        job_id,
    )
    return row_of(SyncJobRow)(row) if row is not None else None


async def lock(tx: TenantConnection, job_id: UUID) -> SyncJobRow | None:
    """The job, locked: a batch and the finish of one job serialise, so no rows are counted into a closed job."""
    row = await tx.fetchrow(
        f"SELECT {COLUMNS} FROM sync_jobs WHERE organization_id = $1 AND id = $2 FOR UPDATE",
        tx.organization_id,
        job_id,
    )
    return row_of(SyncJobRow)(row) if row is not None else None


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
