"""The sync job queue: requestSync queues a job for a channel; startSyncJob claims it (or opens a new one)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from gateway.core.permissions import Permission
from gateway.core.rules import reject
from gateway.data.brain import channels, sync_jobs
from gateway.data.brain.action_logs import ActionLogEntry
from gateway.data.brain.channels import ChannelRow
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
from resolvers.actions.ingestion.common import INGESTION_CODES, IngestionError
from resolvers.brain.enums import ActionKind, ActionTargetType, Platform
from resolvers.brain.records import ActionLog
from resolvers.brain.sync_jobs import SyncJob
from resolvers.common.enums import stored


@strawberry.input(description="Queue a sync of one channel; a partner's worker claims it with `startSyncJob`.")
class RequestSyncInput:
    channel_id: strawberry.ID = strawberry.field(description="The channel to sync; not a disconnected one.")
    platform: Platform | None = strawberry.field(
        default=None, description="The channel's platform, checked when given (null: the channel's)."
    )
    idempotency_key: str | None = IdempotencyKey


@strawberry.type(description="Result of queueing a sync.")
class RequestSyncPayload:
    sync_job: SyncJob | None = strawberry.field(description="The new job, `QUEUED`.")
    action_log: ActionLog | None = strawberry.field(description="The action log entry of the change.")
    user_errors: list[IngestionError] = strawberry.field(description=USER_ERRORS)


async def syncable_channel(tx: TenantConnection, global_id: str, field: str) -> ChannelRow:
    channel = await channels.lock(tx, parse_uuid(global_id, "Channel", field))
    if channel is None:
        raise reject("NOT_FOUND", "no such channel in your organization", field)
    if channel.status == "disconnected":
        raise reject("CHANNEL_DISCONNECTED", "the channel is disconnected; reconnect it to sync", field)
    return channel


async def _request(data: RequestSyncInput, tx: TenantConnection) -> tuple[Outcome, ActionLogEntry | None]:
    channel = await syncable_channel(tx, data.channel_id, "channelId")
    if data.platform is not None and stored(data.platform) != channel.platform:
        raise reject("PLATFORM_MISMATCH", f"the channel is on {channel.platform}", "platform")
    job = await sync_jobs.request(tx, channel.platform, channel.id)
    log = ActionLogEntry(
        stored(ActionKind.REQUEST_SYNC),
        stored(ActionTargetType.SYNC_JOB),
        str(job.id),
        {"channelId": str(channel.id), "platform": channel.platform},
        {"status": job.status, "credentialId": str(job.credential_id) if job.credential_id else None},
    )
    return Outcome(rows={"sync_job": job}), log


async def request_sync(
    info: Ctx, input: Annotated[RequestSyncInput, strawberry.argument(description="The channel to sync.")]
) -> RequestSyncPayload:
    async def perform(tx: TenantConnection) -> tuple[Outcome, ActionLogEntry | None]:
        return await _request(input, tx)

    outcome = await run_brain_mutation(
        info,
        operation=stored(ActionKind.REQUEST_SYNC),
        permission=Permission.REQUEST_SYNC,
        input=input,
        perform=perform,
    )
    return RequestSyncPayload(
        sync_job=outcome.built("sync_job", SYNC_JOB),
        action_log=outcome.built("action_log", ACTION_LOG),
        user_errors=typed_errors(outcome.errors, IngestionError, INGESTION_CODES),
    )


request = strawberry.mutation(
    resolver=request_sync,
    description="Queue a sync job (status `QUEUED`) for a channel, with the organization's active credential of "
    "its platform. Needs the marketer role or above.",
)


def start_arguments(job_id: str | None, platform: Platform | None) -> dict[str, Any]:
    """What startSyncJob's idempotency digest covers: as before the queue when no job is claimed."""
    if job_id is None:
        return {"platform": stored(platform) if platform is not None else None}
    return {"syncJobId": job_id, "platform": stored(platform) if platform is not None else None}


async def start_or_claim(
    job_id: str | None, platform: Platform | None, tx: TenantConnection
) -> tuple[Outcome, ActionLogEntry | None]:
    if job_id is None:
        if platform is None:
            raise reject("PLATFORM_REQUIRED", "name the platform of the new job, or the queued job", "platform")
        job = await sync_jobs.start(tx, stored(platform))
    else:
        raw = parse_uuid(job_id, stored(ActionTargetType.SYNC_JOB), "syncJobId")
        claimed = await sync_jobs.claim(tx, raw)
        if claimed is None:
            known = await sync_jobs.lock(tx, raw)
            if known is None:
                raise reject("NOT_FOUND", "no such sync job in your organization", "syncJobId")
            raise reject("NOT_QUEUED", f"the sync job is {known.status}, not queued", "syncJobId")
        job = claimed
        if platform is not None and stored(platform) != job.platform:
            raise reject("PLATFORM_MISMATCH", f"the queued job is for {job.platform}", "platform")
        if job.channel_id is not None:
            channel = await channels.lock(tx, job.channel_id)
            if channel is not None and channel.status == "disconnected":
                raise reject("CHANNEL_DISCONNECTED", "the job's channel is disconnected", "syncJobId")
    log = ActionLogEntry(
        stored(ActionKind.START_SYNC_JOB),
        stored(ActionTargetType.SYNC_JOB),
        str(job.id),
        {"platform": job.platform, "claimed": job_id is not None},
        {"status": "running"},
    )
    return Outcome(rows={"sync_job": job}), log
