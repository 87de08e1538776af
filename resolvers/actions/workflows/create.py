"""createWorkflow: a draft workflow, version 1."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import strawberry

from gateway.core.mongo_mutations import Audit, Writes
from gateway.core.permissions import Permission
from gateway.core.rules import text
from gateway.core.rules.text import MAX_DESCRIPTION, MAX_NAME
from gateway.data.enterprise import workflows
from resolvers.actions.common import Ctx, IdempotencyKey, Outcome, typed_errors
from resolvers.actions.enterprise import run_enterprise_mutation
from resolvers.actions.workflows.common import (
    MAX_STEPS,
    WORKFLOW_CODES,
    WorkflowError,
    WorkflowPayload,
    WorkflowStepInput,
    steps,
)
from resolvers.enterprise.agentkit import Workflow

PERMISSION = Permission.MANAGE_WORKFLOWS


@strawberry.input(description="Create a workflow; it starts as version 1 in status DRAFT.")
class CreateWorkflowInput:
    name: str = strawberry.field(description=f"Display name, 1 to {MAX_NAME} characters.")
    description: str | None = strawberry.field(
        default=None, description=f"What the workflow is for, at most {MAX_DESCRIPTION} characters."
    )
    steps: list[WorkflowStepInput] = strawberry.field(description=f"The steps in run order, 1 to {MAX_STEPS}.")
    idempotency_key: str | None = IdempotencyKey


async def _create(info: Ctx, data: CreateWorkflowInput, w: Writes) -> Outcome:
    name, description = text.name(data.name), text.description(data.description)
    doc = workflows.new_workflow(name, description, await steps(w, data.steps), info.context.principal.subject)
    audit = Audit("workflow.created", "Workflow", str(doc["_id"]), {"name": name, "steps": len(doc["steps"])})
    return Outcome(rows={"workflow": await workflows.create(w, doc, audit)})


async def create_workflow(
    info: Ctx, input: Annotated[CreateWorkflowInput, strawberry.argument(description="The workflow.")]
) -> WorkflowPayload:
    outcome = await run_enterprise_mutation(
        info,
        operation="createWorkflow",
        permission=PERMISSION,
        input=input,
        perform=partial(_create, info, input),
    )
    return WorkflowPayload(
        workflow=outcome.built("workflow", Workflow.from_doc),
        user_errors=typed_errors(outcome.errors, WorkflowError, WORKFLOW_CODES),
    )


mutation = strawberry.mutation(
    resolver=create_workflow, description="Create a draft workflow. Needs the admin or owner role."
)
