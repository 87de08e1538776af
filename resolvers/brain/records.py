"""GraphQL types of the Brain store's records beside the marketing graph: Brain module outputs,
credentials and action logs (sync jobs: `resolvers.brain.sync_jobs`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import ClassVar

import strawberry
from strawberry import Info

from gateway.core.context import RequestContext
from gateway.data.brain.action_logs import ActionLogRow
from gateway.data.brain.brain_states import BrainStateRow
from gateway.data.brain.credentials import CredentialRow
from resolvers.brain.enums import (
    ActionKind,
    ActionLogStatus,
    ActionTargetType,
    ApiCredentialStatus,
    BrainModule,
    Platform,
    action_kind,
    action_status,
    action_target_type,
    brain_module,
    credential_status,
    platform,
)
from resolvers.common import targets
from resolvers.common.enums import ActorKind, actor_kind
from resolvers.common.objects import row_builder
from resolvers.common.relay import Node, node_ids
from resolvers.common.scalars import JSON

Ctx = Info[RequestContext, None]


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
