"""GraphQL types of the Brain store's records beside the marketing graph: Brain module outputs,
credentials, sync jobs and action logs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, ClassVar
from uuid import UUID

import strawberry
from strawberry import Info

from gateway.core.context import RequestContext
from gateway.core.permissions import Permission
from gateway.data.brain import channels, credentials
from gateway.data.brain.action_logs import ActionLogRow
from gateway.data.brain.brain_states import BrainStateRow
from gateway.data.brain.credentials import CredentialRow
from gateway.data.brain.sync_jobs import SyncJobRow
from resolvers.brain.enums import (
    ActionKind,
    ActionLogStatus,
    ActionTargetType,
    ApiCredentialStatus,
    BrainModule,
    Platform,
    SyncJobStatus,
    action_kind,
    action_status,
    action_target_type,
    brain_module,
    credential_status,
    platform,
    sync_job_status,
)
from resolvers.common import targets
from resolvers.common.enums import ActorKind, actor_kind, stored
from resolvers.common.objects import row_builder
from resolvers.common.relay import COUNTS_BY_STATUS, CountedConnection, Node, node_ids
from resolvers.common.scalars import JSON

if TYPE_CHECKING:
    from resolvers.brain.types import Channel

Ctx = Info[RequestContext, None]


@strawberry.type(description="How many sync jobs of a list have one status.")
class SyncJobStatusCount:
    status: SyncJobStatus = strawberry.field(description="The status.")
    count: int = strawberry.field(description="Sync jobs of the list in this status.")


@strawberry.type(description="One cached output of a Brain module (memory, oracle, curiosity), versioned.")
class BrainState(Node):
    from_row: ClassVar[Callable[[BrainStateRow], BrainState]]
    module: BrainModule = strawberry.field(description="The module that computed it.")
    state: JSON = strawberry.field(description="The module's output.")
    computed_at: dt.datetime = strawberry.field(description="When it was computed.")
    version: int = strawberry.field(description="Increasing version per module.")


BrainState.from_row = row_builder(
    BrainState,
    id=(node_ids("BrainState"), "id"),
    module=(brain_module, "module"),
    state=(JSON, "state"),
    computed_at="computed_at",
    version="version",
)


@strawberry.type(
    description="A stored platform credential. Only metadata: the secret is write-only (sealed by the gateway, "
    "never returned by any field), `keyHint` tells keys apart."
)
class ApiCredential(Node):
    from_row: ClassVar[Callable[[CredentialRow], ApiCredential]]
    platform: Platform = strawberry.field(description="Platform the credential is for.")
    key_hint: str | None = strawberry.field(description="Last characters of the key, to tell keys apart.")
    status: ApiCredentialStatus = strawberry.field(description="Whether the credential can be used.")
    created_at: dt.datetime = strawberry.field(description="When it was stored.")
    last_used_at: dt.datetime | None = strawberry.field(description="When a sync last used it.")
    version: int = strawberry.field(description="Version of the secret: 1 when created, one more per rotation.")
    rotated_at: dt.datetime | None = strawberry.field(description="When the secret was last replaced; null if never.")
    revoked_at: dt.datetime | None = strawberry.field(description="When it was revoked; null unless revoked.")


ApiCredential.from_row = row_builder(
    ApiCredential,
    id=(node_ids("ApiCredential"), "id"),
    platform=(platform, "platform"),
    key_hint="key_hint",
    status=(credential_status, "status"),
    created_at="created_at",
    last_used_at="last_used_at",
    version="version",
    rotated_at="rotated_at",
    revoked_at="revoked_at",
)


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
    async def channel(
        self, info: Ctx
    ) -> Annotated[Channel, strawberry.lazy("resolvers.brain.types")] | None:  # types imports this module
        from resolvers.brain.types import Channel

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


@strawberry.type(description="An audit record of an action run against the Brain store (pause, budget change, ingest).")
class ActionLog(Node):
    from_row: ClassVar[Callable[[ActionLogRow], ActionLog]]
    actor_kind: ActorKind = strawberry.field(description="User, partner or system.")
    actor_id: str = strawberry.field(description="Subject of the actor's token, or a system name.")
    action: ActionKind = strawberry.field(description="The action, e.g. `SHIFT_BUDGET`.")
    target_type: ActionTargetType = strawberry.field(description="Type of the object acted on, e.g. `CAMPAIGN`.")
    target_id: str = strawberry.field(description="Id of the object acted on.")
    payload: JSON = strawberry.field(description="The action's input.")
    result: JSON | None = strawberry.field(description="The action's result.")
    status: ActionLogStatus = strawberry.field(description="Outcome.")
    created_at: dt.datetime = strawberry.field(description="When the action ran.")
    stored_target_type: strawberry.Private[str]
    stored_target_id: strawberry.Private[str]

    @strawberry.field(
        description="The object acted on, as `node(id:)` reads it; null once it no longer exists (or when it is "
        "of a type the caller may not read). `targetType` and `targetId` keep the stored name and raw id."
    )
    async def target(self, info: Info[RequestContext, None]) -> Node | None:
        return await targets.target(info.context, self.stored_target_type, self.stored_target_id)


ActionLog.from_row = row_builder(
    ActionLog,
    id=(node_ids("ActionLog"), "id"),
    stored_target_type="target_type",
    stored_target_id="target_id",
    actor_kind=(actor_kind, "actor_kind"),
    actor_id="actor_id",
    action=(action_kind, "action"),
    target_type=(action_target_type, "target_type"),
    target_id="target_id",
    payload=(JSON, "payload"),
    result=(JSON, "result"),
    status=(action_status, "status"),
    created_at="created_at",
)


@strawberry.type(description="A page of sync jobs (Relay connection) with counts over the whole list.")
class SyncJobConnection(CountedConnection[SyncJob]):
    @strawberry.field(description=COUNTS_BY_STATUS)
    async def counts_by_status(self) -> list[SyncJobStatusCount]:
        counts = await self.tally()
        return [SyncJobStatusCount(status=s, count=counts.get(stored(s), 0)) for s in SyncJobStatus]
