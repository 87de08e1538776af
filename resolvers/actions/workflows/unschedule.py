"""deleteWorkflowSchedule: the workflow no longer runs by itself."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import strawberry

from gateway.core.mongo_mutations import Audit, Writes
from gateway.core.permissions import Permission
from gateway.core.rules import reject
from gateway.data.enterprise import schedules
from resolvers.actions.common import USER_ERRORS, Ctx, IdempotencyKey, Outcome, parse_object_id, typed_errors
from resolvers.actions.enterprise import run_enterprise_mutation
from resolvers.actions.workflows.common import WORKFLOW_CODES, WorkflowError
from resolvers.common.relay import node_id

PERMISSION = Permission.MANAGE_WORKFLOWS
FIELD = "scheduledWorkflowId"


@strawberry.input(description="Delete a workflow's schedule.")
class DeleteWorkflowScheduleInput:
    scheduled_workflow_id: strawberry.ID = strawberry.field(description="The schedule.")
    idempotency_key: str | None = IdempotencyKey


@strawberry.type(description="Result of deleting a workflow's schedule.")
class DeleteWorkflowSchedulePayload:
    deleted_schedule_id: strawberry.ID | None = strawberry.field(description="The id of the schedule deleted.")
    user_errors: list[WorkflowError] = strawberry.field(description=USER_ERRORS)


async def _delete(data: DeleteWorkflowScheduleInput, w: Writes) -> Outcome:
    schedule_id = parse_object_id(data.scheduled_workflow_id, "ScheduledWorkflow", FIELD)
    current = await schedules.find(w, schedule_id)
    if current is None:
        raise reject("NOT_FOUND", "no such schedule in your organization", FIELD)
    details = {"workflowId": current["workflow_id"], "cron": current.get("cron"), "timezone": current.get("timezone")}
    audit = Audit("workflow.schedule_deleted", "ScheduledWorkflow", str(schedule_id), details)
    if await schedules.delete(w, schedule_id, audit) is None:
        raise reject("NOT_FOUND", "the schedule was deleted meanwhile", FIELD)
    return Outcome(rows={"deleted": {"id": node_id("ScheduledWorkflow", schedule_id)}})


async def delete_workflow_schedule(
    info: Ctx, input: Annotated[DeleteWorkflowScheduleInput, strawberry.argument(description="What to delete.")]
) -> DeleteWorkflowSchedulePayload:
    outcome = await run_enterprise_mutation(
        info,
        operation="deleteWorkflowSchedule",
        permission=PERMISSION,
        input=input,
        perform=partial(_delete, input),
    )
    deleted = outcome.rows.get("deleted")
    return DeleteWorkflowSchedulePayload(
        deleted_schedule_id=strawberry.ID(deleted["id"]) if deleted else None,
        user_errors=typed_errors(outcome.errors, WorkflowError, WORKFLOW_CODES),
    )


mutation = strawberry.mutation(
    resolver=delete_workflow_schedule,
    description="Delete a workflow's schedule: the workflow then runs only on demand (`setWorkflowSchedule` "
    "gives it a new one). Needs the admin or owner role.",
)
