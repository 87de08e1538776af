"""startSyncJob, finishSyncJob: a partner's sync job, opened and closed."""

from __future__ import annotations

from enum import Enum
from functools import partial
from typing import Annotated

import strawberry

from gateway.core.rules import reject
from gateway.data.brain import sync_jobs
from gateway.data.brain.action_logs import ActionLogEntry
from gateway.stores.postgres import TenantConnection
from resolvers.actions.built import ACTION_LOG, SYNC_JOB
from resolvers.actions.common import (
    USER_ERRORS,
    Ctx,
    IdempotencyKey,
    Outcome,
    parse_uuid,
    run_brain_mutation,
    typed_errors,
)
from resolvers.actions.ingestion import queue
from resolvers.actions.ingestion.common import (
    INGESTION_CODES,
    MAX_ERROR_LENGTH,
    PERMISSION,
    IngestionError,
    running_job,
)
from resolvers.brain.enums import ActionKind, ActionTargetType, Platform
from resolvers.brain.records import ActionLog
from resolvers.brain.sync_jobs import SyncJob
from resolvers.common.enums import stored


@strawberry.enum(description="How a sync job ended.")
class SyncJobOutcome(Enum):
    SUCCEEDED = strawberry.enum_value("succeeded", description="Every batch of the sync was ingested.")
    FAILED = strawberry.enum_value("failed", description="The sync stopped; `error` says why.")


@strawberry.input(
    description="Claim a queued sync job, or open a new one for a platform; either way it is `RUNNING` after."
)
class StartSyncJobInput:
    sync_job_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A `QUEUED` job to claim: of concurrent claims exactly one wins, the others get `NOT_QUEUED`.",
    )
    platform: Platform | None = strawberry.field(
        default=None, description="The platform of a new job, when no job is claimed; must match a claimed job's."
    )
    idempotency_key: str | None = IdempotencyKey


@strawberry.type(description="Result of opening a sync job.")
class StartSyncJobPayload:
    sync_job: SyncJob | None = strawberry.field(description="The running job: claimed, or new.")
    action_log: ActionLog | None = strawberry.field(description="The action log entry of the change.")
    user_errors: list[IngestionError] = strawberry.field(description=USER_ERRORS)


@strawberry.input(description="Close a running sync job.")
class FinishSyncJobInput:
    sync_job_id: strawberry.ID = strawberry.field(description="The running job.")
    status: SyncJobOutcome = strawberry.field(description="How the job ended.")
    error: str | None = strawberry.field(
        default=None,
        description=f"Why the job failed: required with `FAILED`, not allowed with `SUCCEEDED` "
        f"(at most {MAX_ERROR_LENGTH:,} characters).",
    )
    idempotency_key: str | None = IdempotencyKey


@strawberry.type(description="Result of closing a sync job.")
class FinishSyncJobPayload:
    sync_job: SyncJob | None = strawberry.field(description="The job after it finished.")
    action_log: ActionLog | None = strawberry.field(description="The action log entry of the change.")
    user_errors: list[IngestionError] = strawberry.field(description=USER_ERRORS)


def _job_error(outcome: SyncJobOutcome, error: str | None) -> str | None:
    text = (error or "").strip()
    if outcome is SyncJobOutcome.FAILED and not text:
        raise reject("ERROR_REQUIRED", "say why the job failed", "error")
    if outcome is SyncJobOutcome.SUCCEEDED and text:
        raise reject("ERROR_NOT_ALLOWED", "a succeeded job has no error; finish it as FAILED instead", "error")
    if len(text) > MAX_ERROR_LENGTH:
        raise reject("ERROR_TOO_LONG", f"the error must be at most {MAX_ERROR_LENGTH} characters", "error")
    return text or None


async def start_sync_job(
    info: Ctx, input: Annotated[StartSyncJobInput, strawberry.argument(description="The job to open.")]
) -> StartSyncJobPayload:
    outcome = await run_brain_mutation(
        info,
        operation=stored(ActionKind.START_SYNC_JOB),
        permission=PERMISSION,
        input=input,
        perform=partial(queue.start_or_claim, input.sync_job_id, input.platform),
        arguments=queue.start_arguments(input.sync_job_id, input.platform),
    )
    return StartSyncJobPayload(
        sync_job=outcome.built("sync_job", SYNC_JOB),
        action_log=outcome.built("action_log", ACTION_LOG),
        user_errors=typed_errors(outcome.errors, IngestionError, INGESTION_CODES),
    )


async def finish_sync_job(
    info: Ctx, input: Annotated[FinishSyncJobInput, strawberry.argument(description="The job and outcome.")]
) -> FinishSyncJobPayload:
    async def perform(tx: TenantConnection) -> tuple[Outcome, ActionLogEntry | None]:
        job_id = parse_uuid(input.sync_job_id, "SyncJob", "syncJobId")
        error = _job_error(input.status, input.error)
        await running_job(tx, job_id, "syncJobId")
        job = await sync_jobs.finish(tx, job_id, stored(input.status), error)
        log = ActionLogEntry(
            stored(ActionKind.FINISH_SYNC_JOB),
            stored(ActionTargetType.SYNC_JOB),
            str(job_id),
            {"status": input.status.value, "error": error},
            {"status": job.status, "recordsSynced": job.records_synced},
        )
        return Outcome(rows={"sync_job": job}), log

    outcome = await run_brain_mutation(
        info,
        operation=stored(ActionKind.FINISH_SYNC_JOB),
        permission=PERMISSION,
        input=input,
        perform=perform,
        arguments={"syncJobId": input.sync_job_id, "status": input.status.value, "error": input.error},
    )
    return FinishSyncJobPayload(
        sync_job=outcome.built("sync_job", SYNC_JOB),
        action_log=outcome.built("action_log", ACTION_LOG),
        user_errors=typed_errors(outcome.errors, IngestionError, INGESTION_CODES),
    )


start = strawberry.mutation(
    resolver=start_sync_job,
    description="Claim a queued sync job, or open a new one, to attach metric batches to (status `RUNNING`). "
    "Needs the `metrics:write` scope, or the admin or owner role.",
)
finish = strawberry.mutation(
    resolver=finish_sync_job,
    description="Close a running sync job as succeeded or failed. "
    "Needs the `metrics:write` scope, or the admin or owner role.",
)
