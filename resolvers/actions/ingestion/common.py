"""What the ingestion mutations share: limits, error codes, the running sync job."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

import strawberry

from gateway.core.permissions import Permission
from gateway.core.rules import reject
from gateway.data.brain import sync_jobs
from gateway.data.brain.sync_jobs import SyncJobRow
from gateway.stores.postgres import TenantConnection
from resolvers.actions.errors import UserError, UserErrorCode, codes

PERMISSION = Permission.INGEST_METRICS
MAX_ROWS = 10_000
MAX_REPORTED_ERRORS = 100
MAX_ERROR_LENGTH = 2_000
MAX_RECORDS_SYNCED = 2**31 - 1  # sync_jobs.records_synced is an integer column
# No platform reports delivery this old; a year-1 row would only skew every all-time figure and series.
EARLIEST_DATE = dt.date(2000, 1, 1)


# The codes the ingestion mutations may answer in `userErrors`; `typed_errors` refuses others.
INGESTION_CODES = codes(
    UserErrorCode.INVALID_ID,
    UserErrorCode.NOT_FOUND,
    UserErrorCode.NOT_RUNNING,
    UserErrorCode.NOT_QUEUED,
    UserErrorCode.PLATFORM_REQUIRED,
    UserErrorCode.CHANNEL_DISCONNECTED,
    UserErrorCode.ERROR_REQUIRED,
    UserErrorCode.ERROR_NOT_ALLOWED,
    UserErrorCode.ERROR_TOO_LONG,
    UserErrorCode.INVALID_AMOUNT,
    UserErrorCode.PLATFORM_MISMATCH,
    UserErrorCode.CAMPAIGN_MISMATCH,
    UserErrorCode.FUTURE_DATE,
    UserErrorCode.DATE_TOO_EARLY,
    UserErrorCode.DUPLICATE_ROW,
    UserErrorCode.NEGATIVE_COUNT,
    UserErrorCode.CLICKS_EXCEED_IMPRESSIONS,
    UserErrorCode.NO_ROWS,
    UserErrorCode.CREATIVE_REFERENCE,
    UserErrorCode.TOO_MANY_ROWS,
    UserErrorCode.TOO_MANY_RECORDS,
)


@strawberry.type(description="Why an ingestion call (sync job, metrics batch) did not apply. Nothing was changed.")
class IngestionError(UserError):
    """Fields from `UserError`; the code is one of `INGESTION_CODES`."""


async def running_job(tx: TenantConnection, job_id: UUID, field: str) -> SyncJobRow:
    job = await sync_jobs.lock(tx, job_id)
    if job is None:
        raise reject("NOT_FOUND", "no such sync job in your organization", field)
    if job.status != "running":
        raise reject("NOT_RUNNING", f"the sync job is {job.status}, not running", field)
    return job
