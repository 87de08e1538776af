"""The GraphQL type of a sync job (a run that pulls a platform's data into the Brain store) and its list."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import ClassVar
from uuid import UUID

import strawberry
from strawberry import Info

from gateway.core.context import RequestContext
from gateway.core.permissions import Permission
from gateway.data.brain import channels, credentials
from gateway.data.brain.sync_jobs import SyncJobRow
from resolvers.brain.enums import Platform, SyncJobStatus, platform, sync_job_status
from resolvers.brain.records import ApiCredential
from resolvers.brain.types import Channel
from resolvers.common.enums import stored
from resolvers.common.objects import row_builder
from resolvers.common.relay import COUNTS_BY_STATUS, CountedConnection, Node, node_ids

Ctx = Info[RequestContext, None]


@strawberry.type(description="How many sync jobs of a list have one status.")
class SyncJobStatusCount:
    status: SyncJobStatus = strawberry.field(description="The status.")
    count: int = strawberry.field(description="Sync jobs of the list in this status.")


@strawberry.type(description="A run that pulls data from a platform into the Brain store.")
class SyncJob(Node):
    from_row: ClassVar[Callable[[SyncJobRow], SyncJob]]
    platform: Platform = strawberry.field(description="Platform synced.")
    status: SyncJobStatus = strawberry.field(description="Progress of the job.")
    records_synced: int = strawberry.field(description="Records written so far.")
    error: str | None = strawberry.field(description="Why the job failed, when it did.")
    started_at: dt.datetime | None = strawberry.field(description="When the job started.")
    finished_at: dt.datetime | None = strawberry.field(description="When the job finished.")
    created_at: dt.datetime = strawberry.field(description="When the job was queued.")
    channel_id: strawberry.Private[UUID | None]
    credential_id: strawberry.Private[UUID | None]

    @strawberry.field(description="The channel the job syncs; null for jobs opened by platform alone.")
    async def channel(self, info: Ctx) -> Channel | None:
        if self.channel_id is None:
            return None
        row = await info.context.loader(channels.by_id).load(self.channel_id)
        return Channel.from_row(row) if row is not None else None

    @strawberry.field(
        description="The credential the job syncs with (metadata only); null when none was active when it was "
        "requested. Reading it needs the right to read credential metadata."
    )
    async def credential(self, info: Ctx) -> ApiCredential | None:
        info.context.require(Permission.READ_SENSITIVE)
        if self.credential_id is None:
            return None
        row = await info.context.loader(credentials.by_id).load(self.credential_id)
        return ApiCredential.from_row(row) if row is not None else None


SyncJob.from_row = row_builder(
    SyncJob,
    id=(node_ids("SyncJob"), "id"),
    platform=(platform, "platform"),
    status=(sync_job_status, "status"),
    records_synced="records_synced",
    error="error",
    started_at="started_at",
    finished_at="finished_at",
    created_at="created_at",
    channel_id="channel_id",
    credential_id="credential_id",
)


@strawberry.type(description="A page of sync jobs (Relay connection) with counts over the whole list.")
class SyncJobConnection(CountedConnection[SyncJob]):
    @strawberry.field(description=COUNTS_BY_STATUS)
    async def counts_by_status(self) -> list[SyncJobStatusCount]:
        counts = await self.tally()
        return [SyncJobStatusCount(status=s, count=counts.get(stored(s), 0)) for s in SyncJobStatus]
