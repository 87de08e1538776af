"""What the ingestion mutations share: limits, error codes, the running sync job."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from uuid import UUID

import strawberry

from gateway.core.permissions import Permission
from gateway.core.rules import reject
from gateway.data.brain import sync_jobs
from gateway.data.brain.sync_jobs import SyncJobRow
from gateway.stores.postgres import TenantConnection
from resolvers.actions.errors import UserError

PERMISSION = Permission.INGEST_METRICS
MAX_ROWS = 10_000
MAX_REPORTED_ERRORS = 100
MAX_ERROR_LENGTH = 2_000
MAX_RECORDS_SYNCED = 2**31 - 1  # sync_jobs.records_synced is an integer column
# No platform reports delivery this old; a year-1 row would only skew every all-time figure and series.
EARLIEST_DATE = dt.date(2000, 1, 1)


@strawberry.enum(description="Why an ingestion call (sync job, metrics batch) did not apply.")
class IngestionErrorCode(Enum):
    INVALID_ID = strawberry.enum_value("INVALID_ID", description="An id is malformed or names another type.")
    NOT_FOUND = strawberry.enum_value("NOT_FOUND", description="The object does not exist in your organization.")
    NOT_RUNNING = strawberry.enum_value("NOT_RUNNING", description="The sync job is not running any more.")
    NOT_QUEUED = strawberry.enum_value(
        "NOT_QUEUED", description="The sync job is not queued (any more): another caller claimed it, or it ran."
    )
    PLATFORM_REQUIRED = strawberry.enum_value(
        "PLATFORM_REQUIRED", description="Name the platform of a new job, or the queued job to claim."
    )
    CHANNEL_DISCONNECTED = strawberry.enum_value(
        "CHANNEL_DISCONNECTED", description="The channel is disconnected: it is not synced any more."
    )
    ERROR_REQUIRED = strawberry.enum_value("ERROR_REQUIRED", description="A failed job needs an error message.")
    ERROR_NOT_ALLOWED = strawberry.enum_value("ERROR_NOT_ALLOWED", description="A succeeded job has no error message.")
    ERROR_TOO_LONG = strawberry.enum_value("ERROR_TOO_LONG", description="The error message is longer than allowed.")
    INVALID_AMOUNT = strawberry.enum_value("INVALID_AMOUNT", description="The spend or revenue is negative.")
    PLATFORM_MISMATCH = strawberry.enum_value(
        "PLATFORM_MISMATCH", description="The row's campaign is on another platform than the sync job's channel."
    )
    CAMPAIGN_MISMATCH = strawberry.enum_value(
        "CAMPAIGN_MISMATCH", description="The creative does not belong to the row's campaign."
    )
    FUTURE_DATE = strawberry.enum_value("FUTURE_DATE", description="The row's date is after today (UTC).")
    DATE_TOO_EARLY = strawberry.enum_value(
        "DATE_TOO_EARLY", description=f"The row's date is before {EARLIEST_DATE.isoformat()}."
    )
    DUPLICATE_ROW = strawberry.enum_value("DUPLICATE_ROW", description="Two rows have the same creative and date.")
    NEGATIVE_COUNT = strawberry.enum_value("NEGATIVE_COUNT", description="A count is negative.")
    CLICKS_EXCEED_IMPRESSIONS = strawberry.enum_value(
        "CLICKS_EXCEED_IMPRESSIONS", description="A row has more clicks than impressions."
    )
    NO_ROWS = strawberry.enum_value("NO_ROWS", description="The batch is empty.")
    CREATIVE_REFERENCE = strawberry.enum_value(
        "CREATIVE_REFERENCE", description="A row names its creative by neither or both of `creativeId` and `creative`."
    )
    TOO_MANY_ROWS = strawberry.enum_value(
        "TOO_MANY_ROWS", description="The batch has more rows than one call may send."
    )
    TOO_MANY_RECORDS = strawberry.enum_value(
        "TOO_MANY_RECORDS", description="The sync job cannot count more records; start a new job."
    )


@strawberry.type(description="Why an ingestion call (sync job, metrics batch) did not apply. Nothing was changed.")
class IngestionError(UserError):
    """Fields from `UserError`; the code is one of `IngestionErrorCode`."""


async def running_job(tx: TenantConnection, job_id: UUID, field: str) -> SyncJobRow:
    job = await sync_jobs.lock(tx, job_id)
    if job is None:
        raise reject("NOT_FOUND", "no such sync job in your organization", field)
    if job.status != "running":
        raise reject("NOT_RUNNING", f"the sync job is {job.status}, not running", field)
    return job
