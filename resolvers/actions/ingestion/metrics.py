"""ingestDailyMetrics: a batch of daily metric rows, all or nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Annotated, Any
from uuid import UUID

import strawberry

from gateway.core.rules import Rejected, UserError, reject
from gateway.core.rules.budget import check_amount
from gateway.data.brain import campaigns, catalog, creatives, metrics, sync_jobs
from gateway.data.brain.action_logs import ActionLogEntry
from gateway.data.brain.creatives import CreativeHome
from gateway.data.brain.metrics import DailyFigures
from gateway.data.brain.sync_jobs import SyncJobRow
from gateway.stores.postgres import TenantConnection
from resolvers.actions.built import ACTION_LOG, SYNC_JOB
from resolvers.actions.common import (
    Ctx,
    IdempotencyKey,
    Outcome,
    parse_uuid,
    plain,
    run_brain_mutation,
    typed_errors,
)
from resolvers.actions.ingestion.common import (
    EARLIEST_DATE,
    INGESTION_CODES,
    MAX_RECORDS_SYNCED,
    MAX_REPORTED_ERRORS,
    MAX_ROWS,
    PERMISSION,
    IngestionError,
    running_job,
)
from resolvers.brain.enums import ActionKind, ActionTargetType, Platform
from resolvers.brain.records import ActionLog
from resolvers.brain.sync_jobs import SyncJob
from resolvers.common.enums import stored


@strawberry.input(description="An object named by its platform and its id there.")
class PlatformReference:
    platform: Platform = strawberry.field(description="The platform.")
    external_id: str = strawberry.field(description="The id on the platform.")


@strawberry.input(
    description="One creative's delivery on one day. Sending the same creative and day again later replaces its counts."
)
class DailyMetricInput:
    creative_id: strawberry.ID | None = strawberry.field(
        default=None, description="The creative (of your organization); or name it by `creative` instead."
    )
    creative: PlatformReference | None = strawberry.field(
        default=None, description="The creative by its platform id, instead of `creativeId` (exactly one of the two)."
    )
    campaign_id: strawberry.ID | None = strawberry.field(
        default=None, description="Optional cross-check: when given, it must be the creative's campaign."
    )
    date: dt.date = strawberry.field(
        description=f"The day (UTC): from {EARLIEST_DATE.isoformat()} to today at the latest."
    )
    impressions: int = strawberry.field(description="Times the creative was shown; not negative.")
    clicks: int = strawberry.field(description="Clicks; not negative and at most `impressions`.")
    spend: Decimal = strawberry.field(
        description='Money spent in the campaign\'s currency, e.g. `"12.50"`; not negative.'
    )
    conversions: int = strawberry.field(
        description="Attributed conversions; not negative. May exceed `clicks` (view-through conversions)."
    )
    revenue: Decimal = strawberry.field(description="Attributed revenue in the campaign's currency; not negative.")


@strawberry.input(
    description=f"Upsert up to {MAX_ROWS:,} daily metric rows, keyed by creative and day. "
    "All or nothing: one invalid row rejects the whole batch."
)
class IngestDailyMetricsInput:
    sync_job_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A running sync job of your organization: its `recordsSynced` grows by the number of rows, "
        "and every row's creative must be on the job's platform.",
    )
    rows: list[DailyMetricInput] = strawberry.field(
        description=f"1 to {MAX_ROWS:,} rows; each creative and day at most once per call."
    )
    idempotency_key: str | None = IdempotencyKey


@strawberry.type(description="Result of a daily metrics batch.")
class IngestDailyMetricsPayload:
    sync_job: SyncJob | None = strawberry.field(
        description="The sync job after the batch; null when no job was given or the batch was rejected."
    )
    rows_upserted: int = strawberry.field(description="Rows inserted or updated; 0 when the batch was rejected.")
    action_log: ActionLog | None = strawberry.field(description="The action log entry of the batch.")
    user_errors: list[IngestionError] = strawberry.field(
        description=f"Why nothing was written: one error per bad row (first {MAX_REPORTED_ERRORS}), "
        "with `field` naming the row and attribute, e.g. `rows[17].clicks`."
    )


@dataclass
class RowRules:
    """What every row of one batch is checked against."""

    homes: dict[UUID, CreativeHome]
    by_platform_id: dict[tuple[str, str], UUID]  # the creatives the rows name by platform id
    campaigns: set[UUID]  # the organization's campaigns among those the rows name
    platform: str | None  # the sync job's platform, when the batch belongs to one
    today: dt.date
    seen: dict[tuple[UUID, dt.date], int]  # (creative, date) -> first row index


def _row_ids(rows: Sequence[DailyMetricInput], kind: str) -> list[UUID]:
    """The distinct ids of `kind` (Creative, Campaign) the rows name; ids that do not parse are left
    to the row check, which reports them."""
    ids: set[UUID] = set()
    for index, row in enumerate(rows):
        global_id = row.creative_id if kind == "Creative" else row.campaign_id
        if kind == "Creative" and row.creative is not None:
            continue  # named by platform id, found by `_platform_ids`
        if global_id is None:
            continue
        try:
            ids.add(parse_uuid(global_id, kind, f"rows[{index}]"))
        except Rejected:
            continue
    return list(ids)


def _platform_key(row: DailyMetricInput) -> tuple[str, str] | None:
    return (stored(row.creative.platform), row.creative.external_id) if row.creative is not None else None


def _creative_of(at: str, row: DailyMetricInput, rules: RowRules) -> tuple[UUID, str]:
    """The row's creative and the field that named it."""
    key = _platform_key(row)
    if (key is None) == (row.creative_id is None):
        raise reject(
            "CREATIVE_REFERENCE", "name the creative by exactly one of creativeId and creative", f"{at}.creativeId"
        )
    if key is None:
        assert row.creative_id is not None
        return parse_uuid(row.creative_id, "Creative", f"{at}.creativeId"), f"{at}.creativeId"
    found = rules.by_platform_id.get(key)
    if found is None:
        raise reject("NOT_FOUND", "no creative of your organization has this id on this platform", f"{at}.creative")
    return found, f"{at}.creative"


def _check_row(index: int, row: DailyMetricInput, rules: RowRules) -> DailyFigures:
    """The row ready to write, or `Rejected` naming its first bad attribute."""
    at = f"rows[{index}]"
    # The campaign cross-check's own faults first: they hold whatever the creative is.
    campaign_id = parse_uuid(row.campaign_id, "Campaign", f"{at}.campaignId") if row.campaign_id is not None else None
    if campaign_id is not None and campaign_id not in rules.campaigns:
        raise reject("NOT_FOUND", "no such campaign in your organization", f"{at}.campaignId")
    creative_id, creative_field = _creative_of(at, row, rules)
    home = rules.homes.get(creative_id)
    if home is None:
        raise reject("NOT_FOUND", "no such creative in your organization", creative_field)
    if rules.platform is not None and home.platform != rules.platform:
        raise reject(
            "PLATFORM_MISMATCH",
            f"the creative runs on {home.platform}, the sync job is for {rules.platform}",
            creative_field,
        )
    if campaign_id is not None and campaign_id != home.campaign_id:
        raise reject("CAMPAIGN_MISMATCH", "the creative does not belong to this campaign", f"{at}.campaignId")
    if row.date > rules.today:
        raise reject("FUTURE_DATE", f"the date is after today ({rules.today.isoformat()}, UTC)", f"{at}.date")
    if row.date < EARLIEST_DATE:
        raise reject("DATE_TOO_EARLY", f"the date is before {EARLIEST_DATE.isoformat()}", f"{at}.date")
    first = rules.seen.setdefault((creative_id, row.date), index)
    if first != index:
        raise reject("DUPLICATE_ROW", f"rows[{first}] has the same creative and date", f"{at}.date")
    for name, count in (("impressions", row.impressions), ("clicks", row.clicks), ("conversions", row.conversions)):
        if count < 0:
            raise reject("NEGATIVE_COUNT", f"{name} must not be negative", f"{at}.{name}")
    if row.clicks > row.impressions:
        raise reject("CLICKS_EXCEED_IMPRESSIONS", "clicks cannot exceed impressions", f"{at}.clicks")
    return DailyFigures(
        creative_id=creative_id,
        campaign_id=home.campaign_id,
        channel_id=home.channel_id,
        date=row.date,
        impressions=row.impressions,
        clicks=row.clicks,
        spend=check_amount(row.spend, f"{at}.spend", allow_zero=True),
        conversions=row.conversions,
        revenue=check_amount(row.revenue, f"{at}.revenue", allow_zero=True),
    )


def _check_rows(rows: Sequence[DailyMetricInput], rules: RowRules) -> list[DailyFigures]:
    checked: list[DailyFigures] = []
    errors: list[UserError] = []
    for index, row in enumerate(rows):
        try:
            checked.append(_check_row(index, row, rules))
        except Rejected as rejected:
            errors.extend(rejected.errors)
            if len(errors) >= MAX_REPORTED_ERRORS:
                break
    if errors:
        raise Rejected(*errors)
    return checked


def _check_size(rows: Sequence[DailyMetricInput]) -> None:
    if not rows:
        raise reject("NO_ROWS", "send at least one row", "rows")
    if len(rows) > MAX_ROWS:
        raise reject(
            "TOO_MANY_ROWS", f"send at most {MAX_ROWS} rows per call (got {len(rows)}); split the batch", "rows"
        )


# One statement for the whole batch: arrays in, one row per (creative, date)
# out. `xmax = 0` holds for freshly inserted rows only, which tells inserts
# from updates for the action log.
async def _count_into_job(tx: TenantConnection, job: SyncJobRow, rows: int) -> SyncJobRow:
    if job.records_synced + rows > MAX_RECORDS_SYNCED:
        raise reject("TOO_MANY_RECORDS", "the sync job cannot count more records; start a new job", "syncJobId")
    return await sync_jobs.add_records(tx, job.id, rows)


def _ingest_log(
    job: SyncJobRow | None, organization_id: UUID, rows: Sequence[DailyFigures], inserted: int
) -> ActionLogEntry:
    # A summary, not the rows: the log and the audit event stay small whatever the batch size.
    dates = [r.date for r in rows]
    job_id = str(job.id) if job is not None else None
    target = ActionTargetType.SYNC_JOB if job_id is not None else ActionTargetType.ORGANIZATION
    return ActionLogEntry(
        stored(ActionKind.INGEST_DAILY_METRICS),
        stored(target),
        job_id or str(organization_id),
        {
            "syncJobId": job_id,
            "rows": len(rows),
            "creatives": len({r.creative_id for r in rows}),
            "from": min(dates).isoformat(),
            "to": max(dates).isoformat(),
        },
        {
            "rowsUpserted": len(rows),
            "inserted": inserted,
            "updated": len(rows) - inserted,
            "recordsSynced": job.records_synced if job is not None else None,
        },
    )


async def _ingest(data: IngestDailyMetricsInput, tx: TenantConnection) -> tuple[Outcome, ActionLogEntry | None]:
    _check_size(data.rows)
    job_id = parse_uuid(data.sync_job_id, "SyncJob", "syncJobId") if data.sync_job_id is not None else None
    job = await running_job(tx, job_id, "syncJobId") if job_id is not None else None
    campaign_ids = _row_ids(data.rows, "Campaign")
    keys = {key for key in map(_platform_key, data.rows) if key is not None}
    by_platform_id = await catalog.creative_ids(tx, list(keys)) if keys else {}
    rules = RowRules(
        homes=await creatives.homes(tx, [*_row_ids(data.rows, "Creative"), *by_platform_id.values()]),
        by_platform_id=by_platform_id,
        campaigns=await campaigns.known(tx, campaign_ids) if campaign_ids else set(),
        platform=job.platform if job is not None else None,
        today=dt.datetime.now(dt.UTC).date(),
        seen={},
    )
    rows = _check_rows(data.rows, rules)
    written, inserted = await metrics.upsert(tx, rows)
    if job is not None:
        job = await _count_into_job(tx, job, written)
    log = _ingest_log(job, tx.organization_id, rows, inserted)
    return Outcome(rows={"sync_job": job, "rows_upserted": written}), log


def _row_arguments(row: DailyMetricInput) -> dict[str, Any]:
    # Rows naming creatives by id digest as they did before platform references existed.
    return {k: plain(v) for k, v in vars(row).items() if not (k == "creative" and v is None)}


async def ingest_daily_metrics(
    info: Ctx,
    input: Annotated[IngestDailyMetricsInput, strawberry.argument(description="The batch.")],
) -> IngestDailyMetricsPayload:
    outcome = await run_brain_mutation(
        info,
        operation=stored(ActionKind.INGEST_DAILY_METRICS),
        permission=PERMISSION,
        input=input,
        perform=partial(_ingest, input),
        arguments={"syncJobId": input.sync_job_id, "rows": [_row_arguments(r) for r in input.rows]},
    )
    return IngestDailyMetricsPayload(
        sync_job=outcome.built("sync_job", SYNC_JOB),
        rows_upserted=int(outcome.rows.get("rows_upserted", 0)),
        action_log=outcome.built("action_log", ACTION_LOG),
        user_errors=typed_errors(outcome.errors, IngestionError, INGESTION_CODES),
    )


ingest = strawberry.mutation(
    resolver=ingest_daily_metrics,
    description=f"Insert or update up to {MAX_ROWS:,} daily metric rows (keyed by creative and day) in one "
    "transaction; one invalid row rejects the whole batch. "
    "Needs the `metrics:write` scope, or the admin or owner role.",
)
