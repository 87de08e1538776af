"""The MongoDB half of `Organization`: billing, members, AgentKit, audit, compliance, usage.

Each field reads its arguments, calls the domain's function in
`gateway.data.enterprise`, and builds the GraphQL objects from what it returns.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from functools import partial
from typing import Annotated

import strawberry
from strawberry import Info

from gateway.core.context import RequestContext
from gateway.core.permissions import Permission
from gateway.data import ids
from gateway.data.enterprise import (
    agents,
    audit,
    compliance,
    executions,
    invitations,
    members,
    organizations,
    usage,
    workflows,
)
from gateway.data.paging import Page
from gateway.errors import NotFound
from resolvers.common.enums import ActorKind, stored, stored_values
from resolvers.common.filters import DateTimeRange, IntComparison, OrderDirection, comparison, sorts, time_range
from resolvers.common.relay import After, Before, Connection, First, Last
from resolvers.enterprise.types import (
    Agent,
    AnalyticsPeriod,
    AnalyticsPoint,
    AuditLog,
    BillingSubscription,
    BrainRole,
    ComplianceCheck,
    ComplianceFramework,
    ComplianceStatus,
    EnterpriseRole,
    ExecutionOrderBy,
    Invitation,
    InvitationRole,
    InvitationStatus,
    Member,
    Plan,
    QuotaResource,
    ScheduledWorkflow,
    UsageQuota,
    Workflow,
    WorkflowExecution,
    WorkflowExecutionConnection,
    WorkflowExecutionFilter,
    WorkflowStatus,
    execution_filter,
)

Ctx = Info[RequestContext, None]


# --- filters and orderings -------------------------------------------------------------------
# Every list takes `filter:` (every part given must hold) and `orderBy:` (sort keys, most
# significant first, the id appended as the last tie-break).


def _order_by(default: str) -> str:
    return f"Sort keys, most significant first; ties are broken by id. Default: {default}."


@strawberry.input(description="Narrows a list of members; every part given must hold.")
class MemberFilter:
    email_contains: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of the e-mail address, taken literally."
    )
    name_contains: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of the display name, taken literally."
    )
    enterprise_role: list[EnterpriseRole] | None = strawberry.field(
        default=None, description="Only members holding any of these enterprise roles."
    )
    brain_role: list[BrainRole] | None = strawberry.field(
        default=None, description="Only members with one of these Brain roles."
    )
    status: list[str] | None = strawberry.field(
        default=None, description="Only members whose enterprise account has one of these statuses, e.g. `active`."
    )
    has_enterprise_account: bool | None = strawberry.field(
        default=None, description="Only members with (true) or without (false) an enterprise account."
    )
    has_brain_account: bool | None = strawberry.field(
        default=None,
        description="Only members with (true) or without (false) a Brain account; while the Brain store cannot be "
        "asked, no member matches.",
    )
    last_login_at: DateTimeRange | None = strawberry.field(
        default=None, description="Only members whose last enterprise sign-in is in this range."
    )


@strawberry.enum(description="What to sort members by.")
class MemberOrderField(Enum):
    EMAIL = strawberry.enum_value("email", description="By e-mail address.")
    NAME = strawberry.enum_value("name", description="By display name; members without one first.")
    ROLE = strawberry.enum_value(
        "role",
        description="By most privileged enterprise role (OWNER, ADMIN, ANALYST, MEMBER); "
        "members without an enterprise account first.",
    )
    LAST_LOGIN_AT = strawberry.enum_value(
        "last_login_at", description="By last enterprise sign-in; members who never signed in first."
    )


@strawberry.input(description="One key of the order of members.")
class MemberOrder:
    field: MemberOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Which way.")


@strawberry.input(description="Narrows a list of invitations; every part given must hold.")
class InvitationFilter:
    status: list[InvitationStatus] | None = strawberry.field(
        default=None, description="Only these statuses (`EXPIRED` includes pending invitations past `expiresAt`)."
    )
    role: list[InvitationRole] | None = strawberry.field(default=None, description="Only invitations to these roles.")
    email_contains: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of the address, taken literally."
    )
    created_at: DateTimeRange | None = strawberry.field(
        default=None, description="Only invitations sent in this range."
    )
    expires_at: DateTimeRange | None = strawberry.field(
        default=None, description="Only invitations expiring in this range."
    )


@strawberry.enum(description="What to sort invitations by.")
class InvitationOrderField(Enum):
    CREATED_AT = strawberry.enum_value("created_at", description="When the invitation was sent.")
    EXPIRES_AT = strawberry.enum_value("expires_at", description="When the invitation stops being accepted.")
    EMAIL = strawberry.enum_value("email", description="By address.")
    ROLE = strawberry.enum_value("role", description="By role name.")


@strawberry.input(description="One key of the order of invitations.")
class InvitationOrder:
    field: InvitationOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Which way.")


@strawberry.input(description="Narrows a list of agents; every part given must hold.")
class AgentFilter:
    enabled: bool | None = strawberry.field(default=None, description="Only enabled (true) or disabled (false) agents.")
    name_contains: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of the name, taken literally."
    )
    kind: list[str] | None = strawberry.field(default=None, description="Only these kinds, e.g. `optimizer`.")
    model: list[str] | None = strawberry.field(default=None, description="Only agents on these models, e.g. `gpt-4o`.")
    created_at: DateTimeRange | None = strawberry.field(default=None, description="Only agents created in this range.")


@strawberry.enum(description="What to sort agents by.")
class AgentOrderField(Enum):
    NAME = strawberry.enum_value("name", description="By name.")
    CREATED_AT = strawberry.enum_value("created_at", description="When the agent was created.")
    KIND = strawberry.enum_value("kind", description="By kind.")


@strawberry.input(description="One key of the order of agents.")
class AgentOrder:
    field: AgentOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Which way.")


@strawberry.input(description="Narrows a list of workflows; every part given must hold.")
class WorkflowFilter:
    status: list[WorkflowStatus] | None = strawberry.field(default=None, description="Only these statuses.")
    name_contains: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of the name, taken literally."
    )
    version: IntComparison | None = strawberry.field(default=None, description="Bounds on the revision number.")
    created_at: DateTimeRange | None = strawberry.field(
        default=None, description="Only workflows created in this range."
    )
    updated_at: DateTimeRange | None = strawberry.field(
        default=None, description="Only workflows last edited in this range."
    )


@strawberry.enum(description="What to sort workflows by.")
class WorkflowOrderField(Enum):
    NAME = strawberry.enum_value("name", description="By name.")
    CREATED_AT = strawberry.enum_value("created_at", description="When the workflow was created.")
    UPDATED_AT = strawberry.enum_value("updated_at", description="When the workflow was last edited.")
    STATUS = strawberry.enum_value("status", description="By status name.")
    VERSION = strawberry.enum_value("version", description="By revision number.")


@strawberry.input(description="One key of the order of workflows.")
class WorkflowOrder:
    field: WorkflowOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Which way.")


@strawberry.input(description="Narrows the organization's workflow executions; every part given must hold.")
class ExecutionFilter(WorkflowExecutionFilter):
    workflow_id: strawberry.ID | None = strawberry.field(default=None, description="Only runs of this workflow.")


@strawberry.input(description="Narrows a list of workflow schedules; every part given must hold.")
class ScheduledWorkflowFilter:
    enabled: bool | None = strawberry.field(default=None, description="Only running (true) or paused (false) ones.")
    timezone: list[str] | None = strawberry.field(default=None, description="Only these time zones, e.g. `UTC`.")
    next_run_at: DateTimeRange | None = strawberry.field(
        default=None, description="Only schedules next running in this range."
    )
    last_run_at: DateTimeRange | None = strawberry.field(
        default=None, description="Only schedules that last ran in this range."
    )


@strawberry.enum(description="What to sort workflow schedules by.")
class ScheduledWorkflowOrderField(Enum):
    NEXT_RUN_AT = strawberry.enum_value("next_run_at", description="When the workflow runs next; paused first.")
    LAST_RUN_AT = strawberry.enum_value("last_run_at", description="When the schedule last ran; never-run first.")
    TIMEZONE = strawberry.enum_value("timezone", description="By time zone name.")


@strawberry.input(description="One key of the order of workflow schedules.")
class ScheduledWorkflowOrder:
    field: ScheduledWorkflowOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Which way.")


@strawberry.input(description="Narrows the audit trail; every part given must hold.")
class AuditLogFilter:
    action: list[str] | None = strawberry.field(default=None, description="Only these actions, e.g. `workflow.run`.")
    actor_id: list[str] | None = strawberry.field(
        default=None, description="Only actions by these actors (their `actor.id`)."
    )
    actor_kind: list[ActorKind] | None = strawberry.field(
        default=None, description="Only actions by these kinds of actor."
    )
    target_type: list[str] | None = strawberry.field(
        default=None, description="Only actions on these kinds of object, e.g. `Campaign`."
    )
    created_at: DateTimeRange | None = strawberry.field(default=None, description="Only entries in this range.")


@strawberry.enum(description="What to sort audit entries by.")
class AuditLogOrderField(Enum):
    CREATED_AT = strawberry.enum_value("at", description="When it happened.")
    ACTION = strawberry.enum_value("action", description="By action name.")


@strawberry.input(description="One key of the order of audit entries.")
class AuditLogOrder:
    field: AuditLogOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Which way.")


@strawberry.input(description="Narrows the usage quotas; every part given must hold.")
class UsageQuotaFilter:
    resource: list[QuotaResource] | None = strawberry.field(default=None, description="Only these resources.")
    used: IntComparison | None = strawberry.field(default=None, description="Bounds on the use so far.")
    limit: IntComparison | None = strawberry.field(default=None, description="Bounds on the allowed use.")
    period_end: DateTimeRange | None = strawberry.field(
        default=None, description="Only quotas whose period ends in this range."
    )


@strawberry.enum(description="What to sort usage quotas by.")
class UsageQuotaOrderField(Enum):
    PERIOD_END = strawberry.enum_value("period_end", description="When the quota period ends.")
    RESOURCE = strawberry.enum_value("resource", description="By resource name.")
    USED = strawberry.enum_value("used", description="By use so far.")
    LIMIT = strawberry.enum_value("limit", description="By allowed use.")


@strawberry.input(description="One key of the order of usage quotas.")
class UsageQuotaOrder:
    field: UsageQuotaOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Which way.")


@strawberry.input(description="Narrows a list of compliance checks; every part given must hold.")
class ComplianceCheckFilter:
    framework: list[ComplianceFramework] | None = strawberry.field(default=None, description="Only these frameworks.")
    status: list[ComplianceStatus] | None = strawberry.field(default=None, description="Only these outcomes.")
    control_contains: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of the control's reference, taken literally."
    )
    checked_at: DateTimeRange | None = strawberry.field(default=None, description="Only checks run in this range.")


@strawberry.enum(description="What to sort compliance checks by.")
class ComplianceCheckOrderField(Enum):
    FRAMEWORK = strawberry.enum_value("framework", description="By framework name.")
    CONTROL = strawberry.enum_value("control", description="By the control's reference.")
    STATUS = strawberry.enum_value("status", description="By outcome name.")
    CHECKED_AT = strawberry.enum_value("checked_at", description="When the check ran.")


@strawberry.input(description="One key of the order of compliance checks.")
class ComplianceCheckOrder:
    field: ComplianceCheckOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Which way.")


# --- the fields ----------------------------------------------------------------------------------


@strawberry.type
class EnterpriseOrganization:
    """Fields of `Organization` that MongoDB answers."""

    @strawberry.field(description="Billing plan (MongoDB).")
    async def plan(self, info: Ctx) -> Plan | None:
        doc = await organizations.organization(info.context.mongo)
        if doc is None:
            raise NotFound("organization not found in the enterprise store")
        return Plan(doc["plan"])

    @strawberry.field(description="The current (most recent) billing subscription (MongoDB).")
    async def subscription(self, info: Ctx) -> BillingSubscription | None:
        doc = await organizations.current_subscription(info.context.mongo)
        return BillingSubscription.from_doc(doc) if doc else None

    @strawberry.field(
        description="People in the organization, from both stores joined by e-mail, by e-mail unless `orderBy` "
        "says otherwise. When the Brain store is unavailable, lists the enterprise accounts only."
    )
    async def members(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[MemberFilter | None, strawberry.argument(description="Narrow the list.")] = None,
        order_by: Annotated[
            list[MemberOrder] | None, strawberry.argument(description=_order_by("by e-mail (`[{field: EMAIL}]`)"))
        ] = None,
    ) -> Connection[Member] | None:
        f = filter or MemberFilter()
        wanted = members.Filter(
            email_contains=f.email_contains,
            name_contains=f.name_contains,
            enterprise_roles=stored_values(f.enterprise_role),
            brain_roles=stored_values(f.brain_role),
            statuses=tuple(f.status or ()),
            has_enterprise_account=f.has_enterprise_account,
            has_brain_account=f.has_brain_account,
            last_login=time_range(f.last_login_at),
        )
        page = Page(first, after, last, before)
        return Connection.of(await members.page(info.context, page, wanted, sorts(order_by)), Member.from_row)

    @strawberry.field(
        description="Invitations to join the organization (MongoDB), newest first unless `orderBy` says otherwise."
    )
    async def invitations(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[InvitationFilter | None, strawberry.argument(description="Narrow the list.")] = None,
        order_by: Annotated[
            list[InvitationOrder] | None,
            strawberry.argument(description=_order_by("newest first (`[{field: CREATED_AT, direction: DESC}]`)")),
        ] = None,
    ) -> Connection[Invitation] | None:
        info.context.require(Permission.READ_SENSITIVE)
        f = filter or InvitationFilter()
        wanted = invitations.Filter(
            statuses=stored_values(f.status),
            roles=stored_values(f.role),
            email_contains=f.email_contains,
            created=time_range(f.created_at),
            expires=time_range(f.expires_at),
        )
        page = Page(first, after, last, before)
        return Connection.of(
            await invitations.page(info.context.mongo, page, wanted, sorts(order_by)), Invitation.from_doc
        )

    @strawberry.field(description="AgentKit agents (MongoDB), by name unless `orderBy` says otherwise.")
    async def agents(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[AgentFilter | None, strawberry.argument(description="Narrow the list.")] = None,
        order_by: Annotated[
            list[AgentOrder] | None, strawberry.argument(description=_order_by("by name (`[{field: NAME}]`)"))
        ] = None,
    ) -> Connection[Agent] | None:
        f = filter or AgentFilter()
        wanted = agents.Filter(
            enabled=f.enabled,
            name_contains=f.name_contains,
            kinds=tuple(f.kind or ()),
            models=tuple(f.model or ()),
            created=time_range(f.created_at),
        )
        page = Page(first, after, last, before)
        return Connection.of(await agents.page(info.context.mongo, page, wanted, sorts(order_by)), Agent.from_doc)

    @strawberry.field(description="AgentKit workflows (MongoDB), by name unless `orderBy` says otherwise.")
    async def workflows(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[WorkflowFilter | None, strawberry.argument(description="Narrow the list.")] = None,
        order_by: Annotated[
            list[WorkflowOrder] | None, strawberry.argument(description=_order_by("by name (`[{field: NAME}]`)"))
        ] = None,
    ) -> Connection[Workflow] | None:
        f = filter or WorkflowFilter()
        wanted = workflows.Filter(
            statuses=stored_values(f.status),
            name_contains=f.name_contains,
            version=comparison(f.version),
            created=time_range(f.created_at),
            updated=time_range(f.updated_at),
        )
        page = Page(first, after, last, before)
        return Connection.of(await workflows.page(info.context.mongo, page, wanted, sorts(order_by)), Workflow.from_doc)

    @strawberry.field(
        description="Runs of all the organization's workflows (MongoDB), newest first unless `orderBy` says otherwise."
    )
    async def executions(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[ExecutionFilter | None, strawberry.argument(description="Narrow the list.")] = None,
        order_by: ExecutionOrderBy = None,
    ) -> WorkflowExecutionConnection | None:
        mongo = info.context.mongo
        workflow_id = ids.raw_id(filter.workflow_id, "Workflow") if filter and filter.workflow_id else None
        wanted = execution_filter(filter, None if workflow_id is None else (workflow_id,))
        page = await executions.page(mongo, Page(first, after, last, before), wanted, sorts(order_by))
        tally = partial(executions.counts_by_status, mongo, wanted)
        return WorkflowExecutionConnection.of(page, WorkflowExecution.from_doc, tally=tally)

    @strawberry.field(
        description="Workflow schedules (MongoDB), the next to run first unless `orderBy` says otherwise."
    )
    async def scheduled_workflows(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[ScheduledWorkflowFilter | None, strawberry.argument(description="Narrow the list.")] = None,
        order_by: Annotated[
            list[ScheduledWorkflowOrder] | None,
            strawberry.argument(description=_order_by("the next to run first (`[{field: NEXT_RUN_AT}]`)")),
        ] = None,
    ) -> Connection[ScheduledWorkflow] | None:
        f = filter or ScheduledWorkflowFilter()
        wanted = workflows.ScheduleFilter(
            enabled=f.enabled,
            timezones=tuple(f.timezone or ()),
            next_run=time_range(f.next_run_at),
            last_run=time_range(f.last_run_at),
        )
        page = Page(first, after, last, before)
        rows = await workflows.schedules_page(info.context.mongo, page, wanted, sorts(order_by))
        return Connection.of(rows, ScheduledWorkflow.from_doc)

    @strawberry.field(description="The audit trail (MongoDB), newest first unless `orderBy` says otherwise.")
    async def audit_logs(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[AuditLogFilter | None, strawberry.argument(description="Narrow the list.")] = None,
        order_by: Annotated[
            list[AuditLogOrder] | None,
            strawberry.argument(description=_order_by("newest first (`[{field: CREATED_AT, direction: DESC}]`)")),
        ] = None,
    ) -> Connection[AuditLog] | None:
        info.context.require(Permission.READ_SENSITIVE)
        f = filter or AuditLogFilter()
        wanted = audit.Filter(
            actions=tuple(f.action or ()),
            actor_ids=tuple(f.actor_id or ()),
            actor_kinds=stored_values(f.actor_kind),
            target_types=tuple(f.target_type or ()),
            at=time_range(f.created_at),
        )
        page = Page(first, after, last, before)
        return Connection.of(await audit.page(info.context.mongo, page, wanted, sorts(order_by)), AuditLog.from_doc)

    @strawberry.field(
        description="Compliance controls and their latest check (MongoDB), by framework and control unless "
        "`orderBy` says otherwise."
    )
    async def compliance_checks(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[ComplianceCheckFilter | None, strawberry.argument(description="Narrow the list.")] = None,
        order_by: Annotated[
            list[ComplianceCheckOrder] | None,
            strawberry.argument(
                description=_order_by("by framework, then control (`[{field: FRAMEWORK}, {field: CONTROL}]`)")
            ),
        ] = None,
    ) -> Connection[ComplianceCheck] | None:
        f = filter or ComplianceCheckFilter()
        wanted = compliance.Filter(
            frameworks=stored_values(f.framework),
            statuses=stored_values(f.status),
            control_contains=f.control_contains,
            checked=time_range(f.checked_at),
        )
        page = Page(first, after, last, before)
        return Connection.of(
            await compliance.page(info.context.mongo, page, wanted, sorts(order_by)), ComplianceCheck.from_doc
        )

    @strawberry.field(
        description="Usage quotas (MongoDB), the latest period first, then by resource, unless `orderBy` says otherwise."
    )
    async def usage_quotas(
        self,
        info: Ctx,
        filter: Annotated[UsageQuotaFilter | None, strawberry.argument(description="Narrow the list.")] = None,
        order_by: Annotated[
            list[UsageQuotaOrder] | None,
            strawberry.argument(
                description=_order_by(
                    "the latest period first, then by resource "
                    "(`[{field: PERIOD_END, direction: DESC}, {field: RESOURCE}]`)"
                )
            ),
        ] = None,
    ) -> list[UsageQuota] | None:
        f = filter or UsageQuotaFilter()
        wanted = usage.QuotaFilter(
            resources=stored_values(f.resource),
            used=comparison(f.used),
            limit=comparison(f.limit),
            period_end=time_range(f.period_end),
        )
        return [UsageQuota.from_doc(doc) for doc in await usage.quotas(info.context.mongo, wanted, sorts(order_by))]

    @strawberry.field(description="One analytics series (MongoDB) over a date range of at most 366 days, oldest first.")
    async def analytics(
        self,
        info: Ctx,
        metric: Annotated[str, strawberry.argument(description="What is measured, e.g. `sessions`.")],
        period: Annotated[AnalyticsPeriod, strawberry.argument(description="Granularity of the series.")],
        from_: Annotated[dt.date, strawberry.argument(name="from", description="First day of the range (inclusive).")],
        to: Annotated[dt.date, strawberry.argument(description="Last day of the range (inclusive).")],
    ) -> list[AnalyticsPoint] | None:
        docs = await usage.analytics(info.context.mongo, metric, stored(period), from_, to)
        return [AnalyticsPoint.from_doc(doc) for doc in docs]
