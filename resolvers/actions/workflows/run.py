"""runWorkflow: queue a run of an active workflow, paid for with a unit of the `workflow_runs` quota."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import strawberry

from gateway.core.mongo_mutations import Audit, Writes
from gateway.core.permissions import Permission
from gateway.core.rules import text
from gateway.data.enterprise import executions
from resolvers.actions.common import (
    USER_ERRORS,
    Ctx,
    IdempotencyKey,
    Outcome,
    actor,
    parse_object_id,
    typed_errors,
)
from resolvers.actions.enterprise import run_enterprise_mutation
from resolvers.actions.workflows.common import WORKFLOW_CODES, WorkflowError, check_runnable, run_tenant, workflow
from resolvers.common.scalars import JSON
from resolvers.enterprise.agentkit import WorkflowExecution
from resolvers.enterprise.types import UsageQuota

PERMISSION = Permission.RUN_WORKFLOWS


@strawberry.input(description="Run an active workflow once, now. Uses one unit of the `workflow_runs` quota.")
class RunWorkflowInput:
    workflow_id: strawberry.ID = strawberry.field(description="The workflow.")
    input: JSON | None = strawberry.field(
        default=None, description='What the run starts with, a JSON object, e.g. `{"window": "7d"}`.'
    )
    idempotency_key: str | None = IdempotencyKey


@strawberry.type(description="Result of starting a workflow run.")
class RunWorkflowPayload:
    execution: WorkflowExecution | None = strawberry.field(description="The queued run.")
    quota: UsageQuota | None = strawberry.field(description="The `workflow_runs` quota after this run.")
    user_errors: list[WorkflowError] = strawberry.field(description=USER_ERRORS)


async def _run(info: Ctx, data: RunWorkflowInput, w: Writes) -> Outcome:
    workflow_id = parse_object_id(data.workflow_id, "Workflow", "workflowId")
    run_input = text.json_object(data.input, "input")
    current = await workflow(w, workflow_id, editable=False)
    await check_runnable(current, w)
    trigger = "user" if info.context.principal.kind == "user" else "api"
    execution = executions.new_execution(current, run_input, trigger, actor(info.context))
    audit = Audit(
        "workflow.run",
        "WorkflowExecution",
        str(execution["_id"]),
        {"workflowId": execution["workflow_id"], "workflowVersion": execution["workflow_version"]},
    )
    quota = await executions.start(w, execution, audit)
    return Outcome(rows={"execution": w.tenant.scoped_document(executions.COLLECTION, execution), "quota": quota})


async def run_workflow(
    info: Ctx, input: Annotated[RunWorkflowInput, strawberry.argument(description="The run.")]
) -> RunWorkflowPayload:
    outcome = await run_enterprise_mutation(
        info,
        operation="runWorkflow",
        tenant=run_tenant(info.context),
        permission=PERMISSION,
        input=input,
        perform=partial(_run, info, input),
    )
    return RunWorkflowPayload(
        execution=outcome.built("execution", WorkflowExecution.from_doc),
        quota=outcome.built("quota", UsageQuota.from_doc),
        user_errors=typed_errors(outcome.errors, WorkflowError, WORKFLOW_CODES),
    )


mutation = strawberry.mutation(
    resolver=run_workflow,
    description="Queue a run of an active workflow, using one unit of the `workflow_runs` quota "
    "(`QUOTA_EXCEEDED` when none is left); `AGENT_DISABLED` when a step's agent is switched off. Needs the "
    "admin or owner role, or a partner token with the scope `workflows:run` (the run is then triggered by `API`).",
)
