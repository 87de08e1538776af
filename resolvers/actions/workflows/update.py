"""updateWorkflow: edit a workflow at the version the edit is based on."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import strawberry

from gateway.core.mongo_mutations import Audit, Writes
from gateway.core.permissions import Permission
from gateway.core.rules import reject, text, versions
from gateway.data.enterprise import workflows
from gateway.stores.mongo import Document
from resolvers.actions.common import Ctx, IdempotencyKey, Outcome, parse_object_id, typed_errors
from resolvers.actions.enterprise import run_enterprise_mutation
from resolvers.actions.workflows.common import (
    WORKFLOW_CODES,
    WorkflowError,
    WorkflowPayload,
    WorkflowStepInput,
    steps,
    workflow,
)
from resolvers.enterprise.agentkit import Workflow
from resolvers.enterprise.enums import WorkflowStatus

PERMISSION = Permission.MANAGE_WORKFLOWS


@strawberry.input(
    description="Edit a workflow. Only fields given change. Fails with the user error VERSION_CONFLICT unless "
    "`expectedVersion` is the workflow's current version; archived workflows cannot change."
)
class UpdateWorkflowInput:
    workflow_id: strawberry.ID = strawberry.field(description="The workflow.")
    expected_version: int = strawberry.field(
        description="The version the edit is based on (optimistic concurrency); raised by one on success."
    )
    name: str | None = strawberry.field(default=None, description="New display name.")
    description: str | None = strawberry.field(default=None, description="New description; an empty string clears it.")
    steps: list[WorkflowStepInput] | None = strawberry.field(default=None, description="New steps, replacing all.")
    status: WorkflowStatus | None = strawberry.field(
        default=None, description="New lifecycle state; ARCHIVED is final."
    )
    idempotency_key: str | None = IdempotencyKey


async def _changes(w: Writes, data: UpdateWorkflowInput) -> Document:
    changes: Document = {}
    if data.name is not None:
        changes["name"] = text.name(data.name)
    if data.description is not None:
        changes["description"] = text.description(data.description)
    if data.status is not None:
        changes["status"] = data.status.value
    if data.steps is not None:
        changes["steps"] = await steps(w, data.steps)
    if not changes:
        raise reject("NOTHING_TO_UPDATE", "give at least one of name, description, steps, status", None)
    return changes


async def _update(info: Ctx, data: UpdateWorkflowInput, w: Writes) -> Outcome:
    workflow_id = parse_object_id(data.workflow_id, "Workflow", "workflowId")
    current = await workflow(w, workflow_id, editable=True)
    expected = data.expected_version
    if current["version"] != expected:
        raise versions.stale("workflow", current["version"], expected)
    changes = await _changes(w, data)
    audit = Audit(
        "workflow.updated",
        "Workflow",
        str(workflow_id),
        {"fromVersion": expected, "toVersion": expected + 1, "changed": sorted(changes)},
    )
    updated = await workflows.update_at_version(w, workflow_id, expected, changes, audit)
    if updated is None:
        # Someone else changed it between our read and our write: the same stale version, told alike.
        now = await workflow(w, workflow_id, editable=True)
        raise versions.stale("workflow", now["version"], expected)
    return Outcome(rows={"workflow": updated})


async def update_workflow(
    info: Ctx, input: Annotated[UpdateWorkflowInput, strawberry.argument(description="The edit.")]
) -> WorkflowPayload:
    outcome = await run_enterprise_mutation(
        info,
        operation="updateWorkflow",
        permission=PERMISSION,
        input=input,
        perform=partial(_update, info, input),
    )
    return WorkflowPayload(
        workflow=outcome.built("workflow", Workflow.from_doc),
        user_errors=typed_errors(outcome.errors, WorkflowError, WORKFLOW_CODES),
    )


mutation = strawberry.mutation(
    resolver=update_workflow,
    description="Edit a workflow if it is still at `expectedVersion` (else the user error VERSION_CONFLICT). "
    "Needs the admin or owner role.",
)
