"""cancelExecution and retryExecution: stop a run that has not finished, or run a failed one again."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import strawberry
from bson import ObjectId

from gateway.core.context import RequestContext
from gateway.core.mongo_mutations import Audit, Writes
from gateway.core.permissions import Permission
from gateway.core.rules import reject
from gateway.data.enterprise import executions
from gateway.stores.mongo import Document
from resolvers.actions.common import USER_ERRORS, Ctx, IdempotencyKey, Outcome, actor, parse_object_id, typed_errors
from resolvers.actions.enterprise import run_enterprise_mutation
from resolvers.actions.workflows.common import WORKFLOW_CODES, WorkflowError, check_runnable, run_tenant, workflow
from resolvers.enterprise.agentkit import WorkflowExecution
from resolvers.enterprise.types import UsageQuota

PERMISSION = Permission.RUN_WORKFLOWS
FIELD = "workflowExecutionId"


@strawberry.input(description="Name one workflow execution.")
class ExecutionInput:
    workflow_execution_id: strawberry.ID = strawberry.field(description="The execution.")
    idempotency_key: str | None = IdempotencyKey


@strawberry.type(description="Result of cancelling or retrying an execution.")
class ExecutionPayload:
    execution: WorkflowExecution | None = strawberry.field(
        description="The cancelled execution, or the new one a retry queued (its `retryOf` is the old one)."
    )
    quota: UsageQuota | None = strawberry.field(description="The `workflow_runs` quota after a retry; null otherwise.")
    user_errors: list[WorkflowError] = strawberry.field(description=USER_ERRORS)


async def _execution(info: Ctx, w: Writes, data: ExecutionInput) -> Document:
    found = await executions.find(w, parse_object_id(data.workflow_execution_id, "WorkflowExecution", FIELD))
    if found is None or not _actable(info.context, found):
        raise reject("NOT_FOUND", "no such execution in your organization", FIELD)
    return found


def _actable(ctx: RequestContext, execution: Document) -> bool:
    """A partner reads no enterprise record, so it acts on the runs it started only: the payload answers with
    the run's input and error, which another's run would otherwise tell it."""
    if ctx.principal.kind != "partner":
        return True
    started_by = execution.get("triggered_by_actor") or {}
    return bool(started_by.get("kind") == "partner" and started_by.get("id") == ctx.principal.subject)


async def _cancel(info: Ctx, data: ExecutionInput, w: Writes) -> Outcome:
    current = await _execution(info, w, data)
    if current["status"] not in executions.CANCELLABLE:
        raise reject("NOT_CANCELLABLE", f"the execution is {current['status']}; only queued or running ones", FIELD)
    audit = Audit(
        "workflow.execution_cancelled",
        "WorkflowExecution",
        str(current["_id"]),
        {"workflowId": current["workflow_id"], "fromStatus": current["status"]},
    )
    updated = await executions.cancel(w, current["_id"], actor(info.context), audit)
    if updated is None:
        raise reject("NOT_CANCELLABLE", "the execution finished meanwhile", FIELD)
    return Outcome(rows={"execution": updated})


async def _retry(info: Ctx, data: ExecutionInput, w: Writes) -> Outcome:
    old = await _execution(info, w, data)
    if old["status"] not in executions.RETRYABLE:
        raise reject("NOT_RETRYABLE", f"the execution is {old['status']}; only failed or cancelled ones", FIELD)
    current = await workflow(w, _workflow_id(old), editable=False)
    await check_runnable(current, w, FIELD)
    trigger = "user" if info.context.principal.kind == "user" else "api"
    execution = executions.new_execution(
        current, old.get("input") or {}, trigger, actor(info.context), retry_of=str(old["_id"])
    )
    audit = Audit(
        "workflow.run",
        "WorkflowExecution",
        str(execution["_id"]),
        {
            "workflowId": execution["workflow_id"],
            "workflowVersion": execution["workflow_version"],
            "retryOf": str(old["_id"]),
        },
    )
    quota = await executions.start(w, execution, audit)
    return Outcome(rows={"execution": w.tenant.scoped_document(executions.COLLECTION, execution), "quota": quota})


def _workflow_id(execution: Document) -> ObjectId:
    raw = execution.get("workflow_id") or ""
    if not ObjectId.is_valid(raw):
        raise reject("NOT_FOUND", "the execution's workflow no longer exists", FIELD)
    return ObjectId(raw)


def _payload(outcome: Outcome) -> ExecutionPayload:
    return ExecutionPayload(
        execution=outcome.built("execution", WorkflowExecution.from_doc),
        quota=outcome.built("quota", UsageQuota.from_doc),
        user_errors=typed_errors(outcome.errors, WorkflowError, WORKFLOW_CODES),
    )


async def cancel_execution(
    info: Ctx, input: Annotated[ExecutionInput, strawberry.argument(description="What to cancel.")]
) -> ExecutionPayload:
    outcome = await run_enterprise_mutation(
        info,
        operation="cancelExecution",
        tenant=run_tenant(info.context),
        permission=PERMISSION,
        input=input,
        perform=partial(_cancel, info, input),
    )
    return _payload(outcome)


async def retry_execution(
    info: Ctx, input: Annotated[ExecutionInput, strawberry.argument(description="What to run again.")]
) -> ExecutionPayload:
    outcome = await run_enterprise_mutation(
        info,
        operation="retryExecution",
        tenant=run_tenant(info.context),
        permission=PERMISSION,
        input=input,
        perform=partial(_retry, info, input),
    )
    return _payload(outcome)


RIGHTS = (
    "Needs the admin or owner role, or a partner token with the scope `workflows:run`, which acts on the runs "
    "it started only (another's run is `NOT_FOUND`)."
)
cancel = strawberry.mutation(
    resolver=cancel_execution,
    description="Cancel a QUEUED or RUNNING execution: it becomes CANCELLED with `finishedAt` set (a worker stops "
    "it at its next step); any other status is `NOT_CANCELLABLE`. The unit of the `workflow_runs` quota stays "
    f"used. {RIGHTS}",
)
retry = strawberry.mutation(
    resolver=retry_execution,
    description="Run a FAILED or CANCELLED execution again: a new QUEUED execution of the workflow's current "
    "version with the same input, its `retryOf` naming the old one, using one unit of the `workflow_runs` "
    "quota; other statuses are `NOT_RETRYABLE`, and the workflow must still be runnable "
    f"(`WORKFLOW_NOT_ACTIVE`, `AGENT_DISABLED`). {RIGHTS}",
)
