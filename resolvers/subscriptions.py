"""The Subscription root: live events of the caller's organization, over WebSocket (graphql-transport-ws).

Each field checks the same permission as the matching read, once when it
starts and again for every event (gateway/core/realtime.py); events are loaded
under the subscriber's own tenancy, so nothing of another organization can
reach it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import Annotated

import strawberry
from strawberry import Info

from gateway.core.context import RequestContext
from gateway.core.permissions import Permission
from gateway.core.realtime import (
    ACTION_LOGGED,
    AUDIT_EVENT,
    BRAIN_STATE_UPDATED,
    SYNC_JOB_UPDATED,
    WORKFLOW_EXECUTION_UPDATED,
)
from gateway.data import ids
from gateway.data.brain.action_logs import ActionLogRow
from gateway.data.brain.brain_states import BrainStateRow
from gateway.data.brain.sync_jobs import SyncJobRow
from gateway.data.rows import row_of
from gateway.errors import BadUserInput
from gateway.stores.mongo import Document
from resolvers.brain.enums import ActionKind, ActionLogStatus, BrainModule
from resolvers.brain.records import ActionLog, BrainState
from resolvers.brain.sync_jobs import SyncJob
from resolvers.common.enums import stored_values
from resolvers.enterprise.agentkit import WorkflowExecution
from resolvers.enterprise.types import AuditLog

Ctx = Info[RequestContext, None]


@strawberry.input(description="Which action log entries to receive; every given list must match.")
class ActionLoggedFilter:
    action: list[ActionKind] | None = strawberry.field(default=None, description="Only these actions.")
    status: list[ActionLogStatus] | None = strawberry.field(default=None, description="Only these outcomes.")


def _raw_id(global_id: strawberry.ID | None, expected: str, argument: str) -> str | None:
    if global_id is None:
        return None
    try:
        return ids.raw_id(global_id, expected)
    except ids.InvalidId as exc:
        raise BadUserInput(exc.message, argument=argument) from None


def _action_filter(filter: ActionLoggedFilter | None) -> Callable[[Document], bool]:
    actions = set(stored_values(filter.action)) if filter and filter.action is not None else None
    statuses = set(stored_values(filter.status)) if filter and filter.status is not None else None

    def accepts(row: Document) -> bool:
        return (actions is None or row["action"] in actions) and (statuses is None or row["status"] in statuses)

    return accepts


@strawberry.type(
    description="Live events of your organization, sent as they are committed. "
    "Over WebSocket only, with the `graphql-transport-ws` protocol on `/graphql`."
)
class Subscription:
    @strawberry.subscription(
        description="Every Brain action (pause/resume, budget change or shift, sync jobs and ingestion) as its "
        "action log entry, once its transaction has committed; a rejected or rolled-back action sends nothing. "
        "Needs read access to Brain data."
    )
    async def action_logged(
        self,
        info: Ctx,
        filter: Annotated[
            ActionLoggedFilter | None, strawberry.argument(description="Only entries matching this filter.")
        ] = None,
    ) -> AsyncGenerator[ActionLog, None]:
        ctx = info.context
        ctx.require(Permission.READ_BRAIN)
        async for row in ctx.services.realtime.stream(
            ctx, ACTION_LOGGED, Permission.READ_BRAIN, _action_filter(filter)
        ):
            yield ActionLog.from_row(row_of(ActionLogRow)(row))

    @strawberry.subscription(
        description="A sync job's status and `recordsSynced` after each change: opened, every ingested batch "
        "(in commit order), then its finish. Needs read access to Brain data."
    )
    async def sync_job_updated(
        self,
        info: Ctx,
        id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this sync job; every job when omitted.")
        ] = None,
    ) -> AsyncGenerator[SyncJob, None]:
        ctx = info.context
        ctx.require(Permission.READ_BRAIN)
        job_id = _raw_id(id, "SyncJob", "id")

        def accepts(row: Document) -> bool:
            return job_id is None or str(row["id"]) == job_id

        async for row in ctx.services.realtime.stream(ctx, SYNC_JOB_UPDATED, Permission.READ_BRAIN, accepts):
            yield SyncJob.from_row(row_of(SyncJobRow)(row))

    @strawberry.subscription(
        description="Workflow executions as they are queued, and their status changes where MongoDB reports "
        "them (change streams, on a replica set). Needs read access to enterprise data."
    )
    async def workflow_execution_updated(
        self,
        info: Ctx,
        workflow_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only runs of this workflow; every workflow when omitted."),
        ] = None,
    ) -> AsyncGenerator[WorkflowExecution, None]:
        ctx = info.context
        ctx.require(Permission.READ_ENTERPRISE)
        wanted = _raw_id(workflow_id, "Workflow", "workflowId")

        def accepts(doc: Document) -> bool:
            return wanted is None or str(doc.get("workflow_id")) == wanted

        async for doc in ctx.services.realtime.stream(
            ctx, WORKFLOW_EXECUTION_UPDATED, Permission.READ_ENTERPRISE, accepts
        ):
            yield WorkflowExecution.from_doc(doc)

    @strawberry.subscription(
        description="Entries of the audit trail as they are stored, from both stores' mutations. "
        "Admin and owner only, like `auditLogs`."
    )
    async def audit_event(self, info: Ctx) -> AsyncGenerator[AuditLog, None]:
        ctx = info.context
        ctx.require(Permission.READ_SENSITIVE)
        async for doc in ctx.services.realtime.stream(ctx, AUDIT_EVENT, Permission.READ_SENSITIVE, lambda _: True):
            yield AuditLog.from_doc(doc)

    @strawberry.subscription(
        description="Each Brain state as it is published (`publishBrainState`), once its transaction has "
        "committed, in commit order. Needs read access to Brain data."
    )
    async def brain_state_updated(
        self,
        info: Ctx,
        modules: Annotated[
            list[BrainModule] | None,
            strawberry.argument(description="Only states of these modules; every module when omitted."),
        ] = None,
    ) -> AsyncGenerator[BrainState, None]:
        ctx = info.context
        ctx.require(Permission.READ_BRAIN)
        wanted = {m.value for m in modules} if modules is not None else None

        def accepts(row: Document) -> bool:
            return wanted is None or row["module"] in wanted

        async for row in ctx.services.realtime.stream(ctx, BRAIN_STATE_UPDATED, Permission.READ_BRAIN, accepts):
            yield BrainState.from_row(row_of(BrainStateRow)(row))
