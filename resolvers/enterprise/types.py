"""GraphQL types of the enterprise store (MongoDB).

Documents reference each other by 24-hex strings (`workflow_id`, `agent_id`,
`invited_by`); every such reference resolves through a per-request dataloader
of `gateway.data.enterprise`, never by a query per object.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from enum import Enum
from functools import partial
from typing import Annotated, ClassVar

import strawberry
from strawberry import Info

from gateway.core.context import RequestContext
from gateway.data.brain.users import BrainUser
from gateway.data.enterprise import agents, executions, invitations, members, workflows
from gateway.data.enterprise.members import MemberRow
from gateway.data.paging import Page
from gateway.stores.mongo import Document
from resolvers.common.enums import ActorKind, actor_kind, stored, stored_values
from resolvers.common.filters import DateTimeRange, OrderDirection, sorts, time_range
from resolvers.common.objects import WHOLE, attribute, builder, doc_builder, enum_reader, get
from resolvers.common.relay import (
    COUNTS_BY_STATUS,
    After,
    Before,
    CountedConnection,
    First,
    Last,
    Node,
    node_id,
    node_ids,
)
from resolvers.common.scalars import JSON, Money

Ctx = Info[RequestContext, None]


# --- enums -----------------------------------------------------------------------------------


@strawberry.enum(description="Billing plan of an organization.")
class Plan(Enum):
    STARTER = strawberry.enum_value("starter", description="Entry plan for small teams.")
    GROWTH = strawberry.enum_value("growth", description="Plan for growing teams.")
    ENTERPRISE = strawberry.enum_value("enterprise", description="Plan with compliance and AgentKit at scale.")


@strawberry.enum(description="Billing state of a subscription.")
class SubscriptionStatus(Enum):
    TRIALING = strawberry.enum_value("trialing", description="In the free trial.")
    ACTIVE = strawberry.enum_value("active", description="Paid and current.")
    PAST_DUE = strawberry.enum_value("past_due", description="A payment failed; service continues for now.")
    CANCELED = strawberry.enum_value("canceled", description="Ended; no longer billed.")


@strawberry.enum(description="Lifecycle state of an AgentKit workflow.")
class WorkflowStatus(Enum):
    DRAFT = strawberry.enum_value("draft", description="Being edited; does not run.")
    ACTIVE = strawberry.enum_value("active", description="Runs on demand and on its schedule.")
    ARCHIVED = strawberry.enum_value("archived", description="Retired; kept for its history.")


@strawberry.enum(description="Progress of one workflow execution.")
class ExecutionStatus(Enum):
    QUEUED = strawberry.enum_value("queued", description="Waiting for a worker.")
    RUNNING = strawberry.enum_value("running", description="Started, not finished.")
    SUCCEEDED = strawberry.enum_value("succeeded", description="Finished with an output.")
    FAILED = strawberry.enum_value("failed", description="Finished with an error.")


@strawberry.enum(description="Compliance framework a control belongs to.")
class ComplianceFramework(Enum):
    SOC2 = strawberry.enum_value("SOC2", description="SOC 2 trust services criteria.")
    GDPR = strawberry.enum_value("GDPR", description="EU General Data Protection Regulation.")
    HIPAA = strawberry.enum_value("HIPAA", description="US Health Insurance Portability and Accountability Act.")


@strawberry.enum(description="Outcome of the latest compliance check of a control.")
class ComplianceStatus(Enum):
    PASSING = strawberry.enum_value("passing", description="The control is met.")
    FAILING = strawberry.enum_value("failing", description="The control is not met; needs attention.")
    PENDING = strawberry.enum_value("pending", description="Not evaluated yet.")


@strawberry.enum(description="Granularity of an analytics series.")
class AnalyticsPeriod(Enum):
    DAY = strawberry.enum_value("day", description="One point per day.")
    WEEK = strawberry.enum_value("week", description="One point per week, dated on the week's first day.")
    MONTH = strawberry.enum_value("month", description="One point per month, dated on the month's first day.")


@strawberry.enum(description="A resource whose use is metered against a quota.")
class QuotaResource(Enum):
    API_CALLS = strawberry.enum_value("api_calls", description="Calls to the platform's API.")
    WORKFLOW_RUNS = strawberry.enum_value("workflow_runs", description="AgentKit workflow executions.")
    SEATS = strawberry.enum_value("seats", description="Members with an enterprise account.")


@strawberry.enum(description="Enterprise role an invitee gets on accepting an invitation.")
class InvitationRole(Enum):
    ADMIN = strawberry.enum_value("admin", description="Manages the team and workflows.")
    ANALYST = strawberry.enum_value("analyst", description="Reads the organization's data.")
    MEMBER = strawberry.enum_value("member", description="A member without management rights.")


@strawberry.enum(description="A role on the enterprise platform.")
class EnterpriseRole(Enum):
    OWNER = strawberry.enum_value("owner", description="Owns the organization: billing, team and all data.")
    ADMIN = strawberry.enum_value("admin", description="Manages the team and workflows.")
    ANALYST = strawberry.enum_value("analyst", description="Reads the organization's data.")
    MEMBER = strawberry.enum_value("member", description="A member without management rights.")


@strawberry.enum(description="A role in the Brain app.")
class BrainRole(Enum):
    OWNER = strawberry.enum_value("owner", description="Owns the Brain workspace.")
    ADMIN = strawberry.enum_value("admin", description="Manages the Brain workspace and its users.")
    MARKETER = strawberry.enum_value("marketer", description="Runs campaigns: budgets and creatives.")
    VIEWER = strawberry.enum_value("viewer", description="Reads campaigns and metrics.")


@strawberry.enum(description="What started a workflow run.")
class WorkflowTrigger(Enum):
    SCHEDULE = strawberry.enum_value("schedule", description="The workflow's schedule came due.")
    USER = strawberry.enum_value("user", description="A signed-in member ran it.")
    API = strawberry.enum_value("api", description="A partner integration ran it with a machine token.")


@strawberry.enum(description="State of a team invitation.")
class InvitationStatus(Enum):
    PENDING = strawberry.enum_value("pending", description="Sent, not answered yet.")
    ACCEPTED = strawberry.enum_value("accepted", description="The invitee joined.")
    REVOKED = strawberry.enum_value("revoked", description="Withdrawn by an admin.")
    EXPIRED = strawberry.enum_value("expired", description="Not accepted in time.")


# Readers of stored values for objects built per document: one dict lookup each, not an enum call.
plan = enum_reader(Plan)
subscription_status = enum_reader(SubscriptionStatus)
enterprise_role = enum_reader(EnterpriseRole)
brain_role = enum_reader(BrainRole)
invitation_role = enum_reader(InvitationRole)
invitation_status = enum_reader(InvitationStatus)
workflow_status = enum_reader(WorkflowStatus)
execution_status = enum_reader(ExecutionStatus)
workflow_trigger = enum_reader(WorkflowTrigger)
compliance_framework = enum_reader(ComplianceFramework)
compliance_status = enum_reader(ComplianceStatus)
analytics_period = enum_reader(AnalyticsPeriod)
quota_resource = enum_reader(QuotaResource)


# --- billing ---------------------------------------------------------------------------------


@strawberry.type(description="An organization's billing subscription.")
class BillingSubscription(Node):
    plan: Plan = strawberry.field(description="Plan billed by this subscription.")
    status: SubscriptionStatus = strawberry.field(description="Billing state.")
    seats: int = strawberry.field(description="Number of paid seats.")
    price: Money = strawberry.field(description="Price per billing period.")
    current_period_start: dt.datetime = strawberry.field(description="Start of the current billing period.")
    current_period_end: dt.datetime = strawberry.field(description="End of the current billing period.")

    @classmethod
    def from_doc(cls, doc: Document) -> BillingSubscription:
        return _new_billing_subscription(
            id=node_id("BillingSubscription", doc["_id"]),
            plan=plan(doc["plan"]),
            status=subscription_status(doc["status"]),
            seats=int(doc["seats"]),
            price=Money.from_cents(int(doc["amount_cents"]), doc["currency"]),
            current_period_start=doc["current_period_start"],
            current_period_end=doc["current_period_end"],
        )


_new_billing_subscription = builder(BillingSubscription)


# --- people ----------------------------------------------------------------------------------


@strawberry.type(
    description="A person in the organization, joined across both stores by e-mail address: an enterprise "
    "account (MongoDB `users`), a Brain account (PostgreSQL `users`), or both."
)
class Member(Node):
    email: str = strawberry.field(description="E-mail address; joins the member's accounts across both stores.")
    name: str | None = strawberry.field(description="Display name (the enterprise account's, else the Brain one's).")
    enterprise_roles: list[EnterpriseRole] = strawberry.field(
        description="Roles on the enterprise platform; empty without an enterprise account."
    )
    brain_role: BrainRole | None = strawberry.field(
        description="Role in the Brain app; null without a Brain account or when the Brain store could not be asked."
    )
    status: str | None = strawberry.field(
        description="Enterprise account status, e.g. `active` or `disabled`; null without an enterprise account."
    )
    last_login_at: dt.datetime | None = strawberry.field(
        description="Last sign-in to the enterprise platform; null if never."
    )
    has_enterprise_account: bool = strawberry.field(description="True when the member has an enterprise account.")
    has_brain_account: bool | None = strawberry.field(
        description="True when the member has a Brain account; null when the Brain store could not be asked."
    )

    from_row: ClassVar[Callable[[MemberRow], Member]]


def member_id(enterprise: Document | None, brain: BrainUser | None) -> strawberry.ID:
    """An opaque, stable id that does not reveal the e-mail address: the enterprise account's id, else the
    Brain account's (`u:` and `b:` tell them apart when `node(id)` resolves it)."""
    if enterprise is not None:
        return node_id("Member", f"u:{enterprise['_id']}")
    assert brain is not None, "a member has at least one account"
    return node_id("Member", f"b:{brain.id}")


def _enterprise_roles(account: Document | None) -> list[EnterpriseRole]:
    return [enterprise_role(r) for r in (account or {}).get("roles") or []]


def _brain_role(brain: BrainUser | None) -> BrainRole | None:
    return brain_role(brain.role) if brain else None


def _account_status(account: Document | None) -> str | None:
    return (account or {}).get("status")


def _last_login(account: Document | None) -> dt.datetime | None:
    return (account or {}).get("last_login_at")


def _is_present(account: Document | None) -> bool:
    return account is not None


def _has_brain_account(brain: BrainUser | None, known: bool) -> bool | None:
    return (brain is not None) if known else None


# A member row is the join of both stores' accounts (`gateway.data.enterprise.members`).
Member.from_row = doc_builder(
    Member,
    id=(member_id, attribute("enterprise"), attribute("brain")),
    email=attribute("email"),
    name=attribute("name"),
    enterprise_roles=(_enterprise_roles, attribute("enterprise")),
    brain_role=(_brain_role, attribute("brain")),
    status=(_account_status, attribute("enterprise")),
    last_login_at=(_last_login, attribute("enterprise")),
    has_enterprise_account=(_is_present, attribute("enterprise")),
    has_brain_account=(_has_brain_account, attribute("brain"), attribute("brain_known")),
)


@strawberry.type(
    description="An invitation to join the organization, sent by e-mail. Its secret token is never exposed."
)
class Invitation(Node):
    invited_by_id: strawberry.Private[str | None]
    email: str = strawberry.field(description="Address the invitation was sent to.")
    role: InvitationRole = strawberry.field(description="Enterprise role the invitee gets on accepting.")
    status: InvitationStatus = strawberry.field(
        description="Whether the invitation is still open; `EXPIRED` once `expiresAt` has passed unanswered."
    )
    expires_at: dt.datetime = strawberry.field(description="When the invitation stops being accepted.")
    created_at: dt.datetime | None = strawberry.field(description="When the invitation was sent.")

    from_doc: ClassVar[Callable[[Document], Invitation]]

    @strawberry.field(description="The member who sent the invitation; null when unknown or no longer a member.")
    async def invited_by(self, info: Ctx) -> Member | None:
        if not self.invited_by_id:
            return None
        user = await info.context.loader(members.users_by_id).load(self.invited_by_id)
        if user is None:
            return None
        row = await members.member(info.context, user["email"], user)
        return Member.from_row(row) if row else None


Invitation.from_doc = doc_builder(
    Invitation,
    id=(node_ids("Invitation"), "_id"),
    invited_by_id=get("invited_by"),
    email="email",
    role=(invitation_role, "role"),
    status=(lambda doc: invitation_status(invitations.status_of(doc)), WHOLE),
    expires_at="expires_at",
    created_at=get("created_at"),
)


# --- AgentKit --------------------------------------------------------------------------------


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


@strawberry.input(description="Narrows a workflow's executions; every part given must hold.")
class WorkflowExecutionFilter:
    status: list[ExecutionStatus] | None = strawberry.field(default=None, description="Only these statuses.")
    triggered_by: list[WorkflowTrigger] | None = strawberry.field(
        default=None, description="Only runs started this way."
    )
    created_at: DateTimeRange | None = strawberry.field(default=None, description="Only runs queued in this range.")
    started_at: DateTimeRange | None = strawberry.field(
        default=None, description="Only runs started in this range (never runs still queued)."
    )
    finished_at: DateTimeRange | None = strawberry.field(
        default=None, description="Only runs finished in this range (never runs not finished)."
    )


def execution_filter(
    value: WorkflowExecutionFilter | None, workflow_ids: tuple[str, ...] | None = None
) -> executions.Filter:
    """The data-access filter of a `filter:` argument, for the runs of `workflow_ids` (None: all)."""
    if value is None:
        return executions.Filter(workflow_ids)
    return executions.Filter(
        workflow_ids=workflow_ids,
        statuses=stored_values(value.status),
        triggers=stored_values(value.triggered_by),
        created=time_range(value.created_at),
        started=time_range(value.started_at),
        finished=time_range(value.finished_at),
    )


@strawberry.enum(description="What to sort workflow executions by.")
class WorkflowExecutionOrderField(Enum):
    CREATED_AT = strawberry.enum_value("created_at", description="When the run was queued.")
    STARTED_AT = strawberry.enum_value("started_at", description="When the run started; runs still queued first.")
    FINISHED_AT = strawberry.enum_value("finished_at", description="When the run ended; runs not finished first.")
    STATUS = strawberry.enum_value("status", description="By status name.")


@strawberry.input(description="One key of the order of workflow executions.")
class WorkflowExecutionOrder:
    field: WorkflowExecutionOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Which way.")


ExecutionOrderBy = Annotated[
    list[WorkflowExecutionOrder] | None,
    strawberry.argument(
        description="Sort keys, most significant first; ties are broken by id. Default: newest first "
        "(`[{field: CREATED_AT, direction: DESC}]`)."
    ),
]


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
    status: ExecutionStatus = strawberry.field(description="Progress of the run.")
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


def _trigger(value: str | None) -> WorkflowTrigger | None:
    return workflow_trigger(value) if value else None


# JSON is `typing.NewType`: `JSON(value)` is the value, so `input` and `output` are read as stored.
WorkflowExecution.from_doc = doc_builder(
    WorkflowExecution,
    id=(node_ids("WorkflowExecution"), "_id"),
    workflow_id=get("workflow_id"),
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
class ExecutionStatusCount:
    status: ExecutionStatus = strawberry.field(description="The status.")
    count: int = strawberry.field(description="Executions of the list in this status.")


@strawberry.type(description="A page of workflow executions (Relay connection) with counts over the whole list.")
class WorkflowExecutionConnection(CountedConnection[WorkflowExecution]):
    @strawberry.field(description=COUNTS_BY_STATUS)
    async def counts_by_status(self) -> list[ExecutionStatusCount]:
        counts = await self.tally()
        return [ExecutionStatusCount(status=s, count=counts.get(stored(s), 0)) for s in ExecutionStatus]


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


# --- audit and compliance --------------------------------------------------------------------


@strawberry.type(description="Who performed an audited action.")
class AuditActor:
    kind: ActorKind = strawberry.field(description="A person, a partner integration or the platform.")
    id: str = strawberry.field(description="The actor's identifier: an OIDC subject or a partner client id.")
    email: str | None = strawberry.field(description="The actor's e-mail address, for people.")


@strawberry.type(description="What an audited action was performed on.")
class AuditTarget:
    type: str = strawberry.field(description="Kind of object, e.g. `Organization`, `Campaign`.")
    id: str = strawberry.field(description="The object's identifier in its store.")


@strawberry.type(description="One entry of the organization's audit trail. Entries are never changed.")
class AuditLog(Node):
    actor: AuditActor = strawberry.field(description="Who did it.")
    action: str = strawberry.field(description="What was done, e.g. `campaign.budget_updated`.")
    target: AuditTarget | None = strawberry.field(description="What it was done to; null for actions without one.")
    details: JSON | None = strawberry.field(description="Action-specific facts, e.g. old and new values.")
    request_id: str | None = strawberry.field(description="Id of the API request that caused the action.")
    event_id: str = strawberry.field(description="Unique id of the event; deduplicates redelivered events.")
    created_at: dt.datetime = strawberry.field(description="When it happened.")

    from_doc: ClassVar[Callable[[Document], AuditLog]]


def _actor(actor: Document | None) -> AuditActor:
    found = actor or {}
    return AuditActor(
        kind=actor_kind(found.get("kind", "system")), id=str(found.get("id", "")), email=found.get("email")
    )


def _target(target: Document | None) -> AuditTarget | None:
    return AuditTarget(type=target["type"], id=str(target["id"])) if target else None


AuditLog.from_doc = doc_builder(
    AuditLog,
    id=(node_ids("AuditLog"), "_id"),
    actor=(_actor, get("actor")),
    action="action",
    target=(_target, get("target")),
    details=get("details"),
    request_id=get("request_id"),
    event_id="event_id",
    created_at="at",
)


@strawberry.type(description="The latest automated check of one compliance control.")
class ComplianceCheck(Node):
    framework: ComplianceFramework = strawberry.field(description="Framework the control belongs to.")
    control: str = strawberry.field(description="The control's reference in its framework, e.g. `CC6.1`.")
    status: ComplianceStatus = strawberry.field(description="Outcome of the check.")
    evidence: str | None = strawberry.field(description="What the check looked at.")
    checked_at: dt.datetime | None = strawberry.field(description="When the check ran.")

    from_doc: ClassVar[Callable[[Document], ComplianceCheck]]


ComplianceCheck.from_doc = doc_builder(
    ComplianceCheck,
    id=(node_ids("ComplianceCheck"), "_id"),
    framework=(compliance_framework, "framework"),
    control="control",
    status=(compliance_status, "status"),
    evidence=get("evidence"),
    checked_at=get("checked_at"),
)


# --- analytics and quotas --------------------------------------------------------------------


def _as_date(value: dt.datetime | dt.date) -> dt.date:
    # Points are stored at midnight UTC; the client is tz-aware, so `.date()` is the UTC day.
    return value.date() if isinstance(value, dt.datetime) else value


@strawberry.type(description="One value of an analytics series for one period.")
class AnalyticsPoint(Node):
    metric: str = strawberry.field(description="What is measured, e.g. `sessions`, `signups`, `mrr_cents`.")
    dimensions: JSON = strawberry.field(description='The slice the value covers, e.g. `{"source": "all"}`.')
    period: AnalyticsPeriod = strawberry.field(description="Granularity of the value.")
    date: dt.date = strawberry.field(description="First day of the period the value covers.")
    value: float = strawberry.field(description="The measured value.")

    @classmethod
    def from_doc(cls, doc: Document) -> AnalyticsPoint:
        return _new_analytics_point(
            id=node_id("AnalyticsPoint", doc["_id"]),
            metric=doc["metric"],
            dimensions=JSON(doc.get("dimensions") or {}),
            period=analytics_period(doc["period"]),
            date=_as_date(doc["date"]),
            value=float(doc["value"]),
        )


_new_analytics_point = builder(AnalyticsPoint)


@strawberry.type(description="How much of a metered resource the organization may use in a period, and has used.")
class UsageQuota(Node):
    resource: QuotaResource = strawberry.field(description="The metered resource.")
    limit: int = strawberry.field(description="Allowed use in the period.")
    used: int = strawberry.field(description="Use so far in the period.")
    period_start: dt.datetime = strawberry.field(description="Start of the quota period.")
    period_end: dt.datetime = strawberry.field(description="End of the quota period, when use resets.")

    @classmethod
    def from_doc(cls, doc: Document) -> UsageQuota:
        return _new_usage_quota(
            id=node_id("UsageQuota", doc["_id"]),
            resource=quota_resource(doc["resource"]),
            limit=int(doc["limit"]),
            used=int(doc["used"]),
            period_start=doc["period_start"],
            period_end=doc["period_end"],
        )

    @strawberry.field(description="Use left in the period: `limit - used`, never below zero.")
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


_new_usage_quota = builder(UsageQuota)
