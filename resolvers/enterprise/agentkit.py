"""GraphQL types of AgentKit (MongoDB): agents, workflows and their steps, runs, schedules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from typing import Annotated, ClassVar

import strawberry
from strawberry import Info

from gateway.core.context import RequestContext
from gateway.data.enterprise import agents, executions, workflows
from gateway.data.paging import Page
from gateway.stores.mongo import Document
from resolvers.common.enums import stored
from resolvers.common.filters import sorts
from resolvers.common.objects import builder, doc_builder, get
from resolvers.common.relay import (
    COUNTS_BY_STATUS,
    After,
    Before,
    CountedConnection,
    First,
    Last,
    Node,
    node_ids,
)
from resolvers.common.scalars import JSON
from resolvers.enterprise.enums import (
    WorkflowExecutionStatus,
    WorkflowStatus,
    WorkflowTrigger,
    execution_status,
    workflow_status,
    workflow_trigger,
)
from resolvers.enterprise.filters import execution_filter
from resolvers.enterprise.lists import ExecutionOrderBy, WorkflowExecutionFilter

Ctx = Info[RequestContext, None]


@strawberry.type(description="An AgentKit AI agent: a model with a configuration that workflow steps call.")
class Agent(Node):
    name: str = strawberry.field(description="Display name.")
    kind: str = strawberry.field(description="What the agent does, e.g. `optimizer`, `monitor`, `reporter`.")
    model: str = strawberry.field(description="The language model behind the agent, e.g. `gpt-4o`.")
    config: JSON = strawberry.field(description='Model settings, e.g. `{"temperature": 0.2}`.')
    enabled: bool = strawberry.field(description="False when the agent is switched off; its steps do not run.")
    created_at: dt.datetime | None = strawberry.field(description="When the agent was created.")

    from_doc: ClassVar[Callable[[Document], Agent]]


def _json_or_empty(value: object) -> JSON:
    return JSON(value or {})


Agent.from_doc = doc_builder(
    Agent,
    id=(node_ids("Agent"), "_id"),
    name="name",
    kind="kind",
    model="model",
    config=(_json_or_empty, get("config")),
    enabled=(bool, get("enabled", True)),
    created_at=get("created_at"),
)


@strawberry.type(description="One step of a workflow: an action performed by an agent.")
class WorkflowStep:
    agent_id: strawberry.Private[str | None]
    action: str = strawberry.field(description="What the agent is asked to do, e.g. `analyze`, `notify`.")
    params: JSON = strawberry.field(description='Parameters of the action, e.g. `{"lookback_days": 7}`.')

    @classmethod
    def from_doc(cls, doc: Document) -> WorkflowStep:
        return _new_workflow_step(
            agent_id=doc.get("agent_id"), action=doc["action"], params=JSON(doc.get("params") or {})
        )

    @strawberry.field(description="The agent performing the step; null if it has been deleted.")
    async def agent(self, info: Ctx) -> Agent | None:
        if not self.agent_id:
            return None
        doc = await info.context.loader(agents.by_id).load(self.agent_id)
        return Agent.from_doc(doc) if doc else None


_new_workflow_step = builder(WorkflowStep)


@strawberry.type(description="An AgentKit workflow: agent steps run in order, on demand or on a schedule.")
class Workflow(Node):
    raw_id: strawberry.Private[str]
    name: str = strawberry.field(description="Display name.")
    description: str | None = strawberry.field(description="What the workflow is for.")
    steps: list[WorkflowStep] = strawberry.field(description="The steps, in the order they run.")
    version: int = strawberry.field(description="Revision number, raised by each edit.")
    status: WorkflowStatus = strawberry.field(description="Lifecycle state.")
    created_at: dt.datetime | None = strawberry.field(description="When the workflow was created.")
    updated_at: dt.datetime | None = strawberry.field(description="When the workflow was last edited.")

    from_doc: ClassVar[Callable[[Document], Workflow]]

    @strawberry.field(description="Runs of this workflow, newest first unless `orderBy` says otherwise.")
    async def executions(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[WorkflowExecutionFilter | None, strawberry.argument(description="Narrow the list.")] = None,
        order_by: ExecutionOrderBy = None,
    ) -> WorkflowExecutionConnection:
        ctx, wanted = info.context, execution_filter(filter)
        page = await executions.page_of_workflow(
            ctx, self.raw_id, Page(first, after, last, before), wanted, sorts(order_by)
        )
        tally = partial(executions.workflow_counts_by_status, ctx, self.raw_id, wanted)
        return WorkflowExecutionConnection.of(page, WorkflowExecution.from_doc, tally=tally)

    @strawberry.field(description="When the workflow runs by itself; null when it has no schedule.")
    async def schedule(self, info: Ctx) -> ScheduledWorkflow | None:
        doc = await info.context.loader(workflows.schedule_by_workflow).load(self.raw_id)
        return ScheduledWorkflow.from_doc(doc) if doc else None


async def _workflow(info: Ctx, workflow_id: str | None) -> Workflow | None:
    if not workflow_id:
        return None
    doc = await info.context.loader(workflows.by_id).load(workflow_id)
    return Workflow.from_doc(doc) if doc else None


def _steps(steps: list[Document] | None) -> list[WorkflowStep]:
    return [WorkflowStep.from_doc(step) for step in steps or []]


Workflow.from_doc = doc_builder(
    Workflow,
    id=(node_ids("Workflow"), "_id"),
    raw_id=(str, "_id"),
    name="name",
    description=get("description"),
    steps=(_steps, get("steps")),
    version=(int, get("version", 1)),
    status=(workflow_status, "status"),
    created_at=get("created_at"),
    updated_at=get("updated_at"),
)


@strawberry.type(description="One run of a workflow, with its input, output and outcome.")
class WorkflowExecution(Node):
    workflow_id: strawberry.Private[str | None]
    retry_of_id: strawberry.Private[str | None]
    status: WorkflowExecutionStatus = strawberry.field(description="Progress of the run.")
    input: JSON | None = strawberry.field(description="What the run was started with.")
    output: JSON | None = strawberry.field(description="What the run produced; null unless it succeeded.")
    error: str | None = strawberry.field(description="Why the run failed; null unless it failed.")
    triggered_by: WorkflowTrigger | None = strawberry.field(description="What started the run; null if unrecorded.")
    created_at: dt.datetime | None = strawberry.field(description="When the run was queued.")
    started_at: dt.datetime | None = strawberry.field(description="When the run started; null while queued.")
    finished_at: dt.datetime | None = strawberry.field(description="When the run ended; null until it does.")

    from_doc: ClassVar[Callable[[Document], WorkflowExecution]]

    @strawberry.field(description="The workflow that ran; null if it has been deleted.")
    async def workflow(self, info: Ctx) -> Workflow | None:
        return await _workflow(info, self.workflow_id)

    @strawberry.field(description="The failed or cancelled run this one retries (`retryExecution`); null otherwise.")
    async def retry_of(self, info: Ctx) -> WorkflowExecution | None:
        if not self.retry_of_id:
            return None
        doc = await info.context.loader(executions.by_id).load(self.retry_of_id)
        return WorkflowExecution.from_doc(doc) if doc else None


def _trigger(value: str | None) -> WorkflowTrigger | None:
    return workflow_trigger(value) if value else None


# JSON is `typing.NewType`: `JSON(value)` is the value, so `input` and `output` are read as stored.
WorkflowExecution.from_doc = doc_builder(
    WorkflowExecution,
    id=(node_ids("WorkflowExecution"), "_id"),
    workflow_id=get("workflow_id"),
    retry_of_id=get("retry_of"),
    status=(execution_status, "status"),
    input=get("input"),
    output=get("output"),
    error=get("error"),
    triggered_by=(_trigger, get("triggered_by")),
    created_at=get("created_at"),
    started_at=get("started_at"),
    finished_at=get("finished_at"),
)


@strawberry.type(description="How many workflow executions of a list have one status.")
class WorkflowExecutionStatusCount:
    status: WorkflowExecutionStatus = strawberry.field(description="The status.")
    count: int = strawberry.field(description="Executions of the list in this status.")


@strawberry.type(description="A page of workflow executions (Relay connection) with counts over the whole list.")
class WorkflowExecutionConnection(CountedConnection[WorkflowExecution]):
    @strawberry.field(description=COUNTS_BY_STATUS)
    async def counts_by_status(self) -> list[WorkflowExecutionStatusCount]:
        counts = await self.tally()
        return [WorkflowExecutionStatusCount(status=s, count=counts.get(stored(s), 0)) for s in WorkflowExecutionStatus]


@strawberry.type(description="A cron schedule that runs a workflow by itself.")
class ScheduledWorkflow(Node):
    workflow_id: strawberry.Private[str | None]
    cron: str = strawberry.field(description="Cron expression, e.g. `0 6 * * *` (daily at 06:00).")
    timezone: str = strawberry.field(description="IANA time zone the cron expression is read in, e.g. `UTC`.")
    enabled: bool = strawberry.field(description="False when the schedule is paused.")
    next_run_at: dt.datetime | None = strawberry.field(description="When the workflow runs next; null if paused.")
    last_run_at: dt.datetime | None = strawberry.field(description="When the schedule last ran the workflow.")

    from_doc: ClassVar[Callable[[Document], ScheduledWorkflow]]

    @strawberry.field(description="The workflow this schedule runs; null if it has been deleted.")
    async def workflow(self, info: Ctx) -> Workflow | None:
        return await _workflow(info, self.workflow_id)


def _or_utc(timezone: str | None) -> str:
    return timezone or "UTC"


ScheduledWorkflow.from_doc = doc_builder(
    ScheduledWorkflow,
    id=(node_ids("ScheduledWorkflow"), "_id"),
    workflow_id=get("workflow_id"),
    cron="cron",
    timezone=(_or_utc, get("timezone")),
    enabled=(bool, get("enabled", True)),
    next_run_at=get("next_run_at"),
    last_run_at=get("last_run_at"),
)
