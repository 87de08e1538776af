"""What the workflow mutations share: error codes, steps, and finding the workflow acted on."""

from __future__ import annotations

import strawberry
from bson import ObjectId

from gateway.core.context import RequestContext
from gateway.core.mongo_mutations import Writes
from gateway.core.rules import reject, text
from gateway.data.enterprise import agents, workflows
from gateway.data.ids import to_global_id
from gateway.stores.mongo import Document, TenantMongo
from resolvers.actions.common import USER_ERRORS, parse_object_id
from resolvers.actions.errors import UserError, UserErrorCode, codes
from resolvers.common.scalars import JSON
from resolvers.enterprise.agentkit import Workflow

MAX_STEPS = 50
MAX_ACTION = 100


# The codes the workflow and execution mutations may answer in `userErrors`; `typed_errors` refuses others.
WORKFLOW_CODES = codes(
    UserErrorCode.INVALID_ID,
    UserErrorCode.NOT_FOUND,
    UserErrorCode.INVALID_NAME,
    UserErrorCode.INVALID_DESCRIPTION,
    UserErrorCode.INVALID_JSON,
    UserErrorCode.INVALID_STEPS,
    UserErrorCode.INVALID_ACTION,
    UserErrorCode.INVALID_CRON,
    UserErrorCode.INVALID_TIMEZONE,
    UserErrorCode.NOTHING_TO_UPDATE,
    UserErrorCode.VERSION_CONFLICT,
    UserErrorCode.WORKFLOW_ARCHIVED,
    UserErrorCode.WORKFLOW_NOT_ACTIVE,
    UserErrorCode.QUOTA_EXCEEDED,
    UserErrorCode.AGENT_DISABLED,
    UserErrorCode.NOT_CANCELLABLE,
    UserErrorCode.NOT_RETRYABLE,
)


@strawberry.type(description="Why a workflow change or run did not apply. Nothing was changed.")
class WorkflowError(UserError):
    """Fields from `UserError`; the code is one of `WORKFLOW_CODES`."""


@strawberry.input(description="One step of a workflow: an action performed by an agent of the organization.")
class WorkflowStepInput:
    agent_id: strawberry.ID = strawberry.field(description="The agent performing the step.")
    action: str = strawberry.field(description="What the agent is asked to do, e.g. `analyze`, `notify`.")
    params: JSON | None = strawberry.field(
        default=None, description='Parameters of the action, a JSON object, e.g. `{"lookback_days": 7}`.'
    )


@strawberry.type(description="Result of creating or editing a workflow.")
class WorkflowPayload:
    workflow: Workflow | None = strawberry.field(description="The workflow after the change.")
    user_errors: list[WorkflowError] = strawberry.field(description=USER_ERRORS)


async def steps(w: Writes, given: list[WorkflowStepInput]) -> list[Document]:
    """The steps as stored, each naming an agent of the organization."""
    if not 1 <= len(given) <= MAX_STEPS:
        raise reject("INVALID_STEPS", f"a workflow has 1 to {MAX_STEPS} steps", "steps")
    agent_ids = [parse_object_id(step.agent_id, "Agent", f"steps[{i}].agentId") for i, step in enumerate(given)]
    known = await agents.known(w, agent_ids)
    documents = []
    for i, (step, agent_id) in enumerate(zip(given, agent_ids, strict=True)):
        if agent_id not in known:
            raise reject("NOT_FOUND", "no such agent in your organization", f"steps[{i}].agentId")
        action = step.action.strip()
        if not action or len(action) > MAX_ACTION:
            raise reject("INVALID_ACTION", f"the action must be 1 to {MAX_ACTION} characters", f"steps[{i}].action")
        documents.append(workflows.new_step(agent_id, action, text.json_object(step.params, f"steps[{i}].params")))
    return documents


def run_tenant(ctx: RequestContext) -> TenantMongo | None:
    """Where a run is written: for a partner, its organization's store, which its `workflows:run` scope lets
    it write runs into without reading the enterprise records (`ctx.mongo` would refuse it); None: the
    caller's own, as for every mutation."""
    organization = ctx.principal.organization.enterprise_id
    if ctx.principal.kind != "partner" or organization is None:
        return None
    return ctx.services.mongo.tenant(organization)


async def check_runnable(current: Document, w: Writes, field: str = "workflowId") -> None:
    """A run needs an active workflow whose steps' agents are all enabled."""
    if current["status"] != "active":
        raise reject("WORKFLOW_NOT_ACTIVE", f"only active workflows run; this one is {current['status']}", field)
    off = await agents.disabled_among(w, [step["agent_id"] for step in current.get("steps") or []])
    if off:
        agent_id = to_global_id("Agent", off[0])
        raise reject("AGENT_DISABLED", f"the workflow uses the disabled agent {agent_id}; enable it first", field)


async def workflow(w: Writes, workflow_id: ObjectId, *, editable: bool) -> Document:
    """The workflow acted on; `editable`: one that may still change (not archived)."""
    doc = await workflows.find(w, workflow_id)
    if doc is None:
        raise reject("NOT_FOUND", "no such workflow in your organization", "workflowId")
    if editable and doc["status"] == "archived":
        raise reject("WORKFLOW_ARCHIVED", "archived workflows cannot change", "workflowId")
    return doc
