"""What the workflow mutations share: error codes, steps, and finding the workflow acted on."""

from __future__ import annotations

from enum import Enum

import strawberry
from bson import ObjectId

from gateway.core.context import RequestContext
from gateway.core.mongo_mutations import Writes
from gateway.core.rules import reject, text
from gateway.data.enterprise import agents, workflows
from gateway.data.ids import to_global_id
from gateway.stores.mongo import Document, TenantMongo
from resolvers.actions.common import USER_ERRORS, parse_object_id
from resolvers.actions.errors import UserError
from resolvers.common.scalars import JSON
from resolvers.enterprise.agentkit import Workflow

MAX_STEPS = 50
MAX_ACTION = 100


@strawberry.enum(description="Why a workflow change or run did not apply.")
class WorkflowErrorCode(Enum):
    INVALID_ID = strawberry.enum_value("INVALID_ID", description="An id is malformed or names another type.")
    NOT_FOUND = strawberry.enum_value("NOT_FOUND", description="The object does not exist in your organization.")
    INVALID_NAME = strawberry.enum_value("INVALID_NAME", description="The name is empty or too long.")
    INVALID_DESCRIPTION = strawberry.enum_value("INVALID_DESCRIPTION", description="The description is too long.")
    INVALID_JSON = strawberry.enum_value(
        "INVALID_JSON", description="A JSON value is not an object, too deep, too large or has forbidden keys."
    )
    INVALID_STEPS = strawberry.enum_value("INVALID_STEPS", description="The workflow has no steps or too many.")
    INVALID_ACTION = strawberry.enum_value("INVALID_ACTION", description="A step's action is empty or too long.")
    INVALID_CRON = strawberry.enum_value(
        "INVALID_CRON", description="The schedule is not a five-field cron expression."
    )
    INVALID_TIMEZONE = strawberry.enum_value(
        "INVALID_TIMEZONE", description="The time zone is not an IANA time zone name."
    )
    NOTHING_TO_UPDATE = strawberry.enum_value("NOTHING_TO_UPDATE", description="The update changes nothing.")
    VERSION_CONFLICT = strawberry.enum_value(
        "VERSION_CONFLICT", description="The workflow is no longer at `expectedVersion`."
    )
    WORKFLOW_ARCHIVED = strawberry.enum_value("WORKFLOW_ARCHIVED", description="Archived workflows cannot change.")
    WORKFLOW_NOT_ACTIVE = strawberry.enum_value("WORKFLOW_NOT_ACTIVE", description="Only active workflows run.")
    QUOTA_EXCEEDED = strawberry.enum_value(
        "QUOTA_EXCEEDED", description="The organization has used all workflow runs of this period."
    )
    AGENT_DISABLED = strawberry.enum_value(
        "AGENT_DISABLED", description="A step's agent is switched off: the workflow does not run until it is enabled."
    )
    NOT_CANCELLABLE = strawberry.enum_value(
        "NOT_CANCELLABLE", description="Only queued or running executions can be cancelled."
    )
    NOT_RETRYABLE = strawberry.enum_value(
        "NOT_RETRYABLE", description="Only failed or cancelled executions can be retried."
    )


@strawberry.type(description="Why a workflow change or run did not apply. Nothing was changed.")
class WorkflowError(UserError):
    """Fields from `UserError`; the code is one of `WorkflowErrorCode`."""


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
