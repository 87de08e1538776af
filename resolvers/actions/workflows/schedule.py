"""setWorkflowSchedule: create or replace a workflow's schedule."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import strawberry

from gateway.core.mongo_mutations import Audit, Writes, now
from gateway.core.permissions import Permission
from gateway.core.rules import schedule
from gateway.data.enterprise import schedules
from gateway.stores.mongo import Document
from resolvers.actions.common import (
    USER_ERRORS,
    Ctx,
    IdempotencyKey,
    Outcome,
    parse_object_id,
    typed_errors,
)
from resolvers.actions.enterprise import run_enterprise_mutation
from resolvers.actions.workflows.common import WORKFLOW_CODES, WorkflowError, workflow
from resolvers.enterprise.agentkit import ScheduledWorkflow

PERMISSION = Permission.MANAGE_WORKFLOWS


@strawberry.input(description="Set when a workflow runs by itself; a workflow has at most one schedule.")
class SetWorkflowScheduleInput:
    workflow_id: strawberry.ID = strawberry.field(description="The workflow.")
    cron: str = strawberry.field(description="Five-field cron expression, e.g. `0 6 * * *` (daily at 06:00).")
    timezone: str = strawberry.field(description="IANA time zone the expression is read in, e.g. `Europe/Berlin`.")
    enabled: bool = strawberry.field(description="False pauses the schedule (no next run).")
    idempotency_key: str | None = IdempotencyKey


@strawberry.type(description="Result of setting a workflow's schedule.")
class SetWorkflowSchedulePayload:
    schedule: ScheduledWorkflow | None = strawberry.field(description="The schedule after the change.")
    user_errors: list[WorkflowError] = strawberry.field(description=USER_ERRORS)


async def _set(info: Ctx, data: SetWorkflowScheduleInput, w: Writes) -> Outcome:
    workflow_id = parse_object_id(data.workflow_id, "Workflow", "workflowId")
    cron, zone = schedule.cron(data.cron), schedule.timezone(data.timezone)
    await workflow(w, workflow_id, editable=True)
    moment = now()
    fields: Document = {
        "cron": cron,
        "timezone": zone.key,
        "enabled": data.enabled,
        "next_run_at": schedule.next_run(cron, zone, moment) if data.enabled else None,
        "updated_at": moment,
    }
    existing = await schedules.of_workflow(w, workflow_id)
    details = {"workflowId": str(workflow_id), **{k: v for k, v in fields.items() if k != "updated_at"}}
    audit = Audit(
        "workflow.schedule_set", "ScheduledWorkflow", str(schedules.schedule_id(existing, workflow_id)), details
    )
    return Outcome(rows={"schedule": await schedules.put(w, workflow_id, existing, fields, audit)})


async def set_workflow_schedule(
    info: Ctx, input: Annotated[SetWorkflowScheduleInput, strawberry.argument(description="The schedule.")]
) -> SetWorkflowSchedulePayload:
    outcome = await run_enterprise_mutation(
        info,
        operation="setWorkflowSchedule",
        permission=PERMISSION,
        input=input,
        perform=partial(_set, info, input),
    )
    return SetWorkflowSchedulePayload(
        schedule=outcome.built("schedule", ScheduledWorkflow.from_doc),
        user_errors=typed_errors(outcome.errors, WorkflowError, WORKFLOW_CODES),
    )


mutation = strawberry.mutation(
    resolver=set_workflow_schedule,
    description="Create or replace a workflow's schedule; the next run time is computed in UTC. "
    "Needs the admin or owner role.",
)
