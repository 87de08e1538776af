"""The MongoDB half of `Organization`: billing, members, AgentKit, audit, compliance, usage.

Each field reads its arguments, calls the domain's function in
`gateway.data.enterprise`, and builds the GraphQL objects from what it returns.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Annotated

import strawberry
from strawberry import Info

from gateway.core.context import RequestContext
from gateway.core.permissions import Permission
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
from resolvers.common.enums import stored
from resolvers.common.filters import sorts
from resolvers.common.relay import After, Before, Connection, First, Last
from resolvers.enterprise.agentkit import (
    Agent,
    ScheduledWorkflow,
    Workflow,
    WorkflowExecution,
    WorkflowExecutionConnection,
)
from resolvers.enterprise.enums import AnalyticsPeriod, Plan
from resolvers.enterprise.filters import (
    agent_filter,
    audit_filter,
    compliance_filter,
    execution_filter,
    invitation_filter,
    member_filter,
    quota_filter,
    schedule_filter,
    workflow_filter,
)
from resolvers.enterprise.lists import (
    AgentFilter,
    AgentOrder,
    AuditLogFilter,
    AuditLogOrder,
    ComplianceCheckFilter,
    ComplianceCheckOrder,
    ExecutionOrderBy,
    InvitationFilter,
    InvitationOrder,
    MemberFilter,
    MemberOrder,
    ScheduledWorkflowFilter,
    ScheduledWorkflowOrder,
    UsageQuotaFilter,
    UsageQuotaOrder,
    WorkflowExecutionFilter,
    WorkflowFilter,
    WorkflowOrder,
    order_by,
)
from resolvers.enterprise.types import (
    AnalyticsPoint,
    AuditLog,
    BillingSubscription,
    ComplianceCheck,
    Invitation,
    Member,
    UsageQuota,
)

Ctx = Info[RequestContext, None]


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
            list[MemberOrder] | None, strawberry.argument(description=order_by("by e-mail (`[{field: EMAIL}]`)"))
        ] = None,
    ) -> Connection[Member] | None:
        wanted = member_filter(filter)
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
            strawberry.argument(description=order_by("newest first (`[{field: CREATED_AT, direction: DESC}]`)")),
        ] = None,
    ) -> Connection[Invitation] | None:
        info.context.require(Permission.READ_SENSITIVE)
        wanted = invitation_filter(filter)
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
            list[AgentOrder] | None, strawberry.argument(description=order_by("by name (`[{field: NAME}]`)"))
        ] = None,
    ) -> Connection[Agent] | None:
        wanted = agent_filter(filter)
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
            list[WorkflowOrder] | None, strawberry.argument(description=order_by("by name (`[{field: NAME}]`)"))
        ] = None,
    ) -> Connection[Workflow] | None:
        wanted = workflow_filter(filter)
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
        filter: Annotated[WorkflowExecutionFilter | None, strawberry.argument(description="Narrow the list.")] = None,
        order_by: ExecutionOrderBy = None,
    ) -> WorkflowExecutionConnection | None:
        mongo = info.context.mongo
        wanted = execution_filter(filter)
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
            strawberry.argument(description=order_by("the next to run first (`[{field: NEXT_RUN_AT}]`)")),
        ] = None,
    ) -> Connection[ScheduledWorkflow] | None:
        wanted = schedule_filter(filter)
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
            strawberry.argument(description=order_by("newest first (`[{field: CREATED_AT, direction: DESC}]`)")),
        ] = None,
    ) -> Connection[AuditLog] | None:
        info.context.require(Permission.READ_SENSITIVE)
        wanted = audit_filter(filter)
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
                description=order_by("by framework, then control (`[{field: FRAMEWORK}, {field: CONTROL}]`)")
            ),
        ] = None,
    ) -> Connection[ComplianceCheck] | None:
        wanted = compliance_filter(filter)
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
                description=order_by(
                    "the latest period first, then by resource "
                    "(`[{field: PERIOD_END, direction: DESC}, {field: RESOURCE}]`)"
                )
            ),
        ] = None,
    ) -> list[UsageQuota] | None:
        wanted = quota_filter(filter)
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
