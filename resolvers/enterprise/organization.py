"""The MongoDB half of `Organization`: billing, members, AgentKit, audit, compliance, usage.

Each field reads its arguments, calls the domain's function in
`gateway.data.enterprise`, and builds the GraphQL objects from what it returns.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated

import strawberry
from strawberry import Info

from gateway.context import RequestContext
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
from gateway.permissions import Permission
from resolvers.common.enums import stored, stored_values
from resolvers.common.relay import After, Before, Connection, First, Last
from resolvers.enterprise.types import (
    Agent,
    AnalyticsPeriod,
    AnalyticsPoint,
    AuditLog,
    BillingSubscription,
    ComplianceCheck,
    ComplianceFramework,
    ComplianceStatus,
    Invitation,
    InvitationStatus,
    Member,
    Plan,
    ScheduledWorkflow,
    UsageQuota,
    Workflow,
    WorkflowExecution,
    WorkflowExecutionFilter,
    WorkflowStatus,
)

Ctx = Info[RequestContext, None]


# --- filters and orderings -------------------------------------------------------------------


@strawberry.input(description="Narrows a list of invitations.")
class InvitationFilter:
    status: list[InvitationStatus] | None = strawberry.field(default=None, description="Only these statuses.")


@strawberry.input(description="Narrows a list of agents.")
class AgentFilter:
    enabled: bool | None = strawberry.field(default=None, description="Only enabled (true) or disabled (false) agents.")
    name_contains: str | None = strawberry.field(default=None, description="Case-insensitive substring of the name.")


@strawberry.enum(description="Order of a list of agents.")
class AgentOrder(Enum):
    NAME = strawberry.enum_value("name", description="By name, A to Z.")
    NEWEST = strawberry.enum_value("newest", description="Most recently created first.")


@strawberry.input(description="Narrows a list of workflows.")
class WorkflowFilter:
    status: list[WorkflowStatus] | None = strawberry.field(default=None, description="Only these statuses.")
    name_contains: str | None = strawberry.field(default=None, description="Case-insensitive substring of the name.")


@strawberry.enum(description="Order of a list of workflows.")
class WorkflowOrder(Enum):
    NAME = strawberry.enum_value("name", description="By name, A to Z.")
    NEWEST = strawberry.enum_value("newest", description="Most recently created first.")
    RECENTLY_UPDATED = strawberry.enum_value("recently_updated", description="Most recently edited first.")


@strawberry.input(description="Narrows a list of workflow executions.")
class ExecutionFilter(WorkflowExecutionFilter):
    workflow_id: strawberry.ID | None = strawberry.field(default=None, description="Only runs of this workflow.")


@strawberry.input(description="Narrows the audit trail.")
class AuditLogFilter:
    action: str | None = strawberry.field(default=None, description="Only this action, e.g. `workflow.run`.")
    actor_id: str | None = strawberry.field(default=None, description="Only actions by this actor (its `actor.id`).")
    from_: dt.datetime | None = strawberry.field(
        default=None, name="from", description="Only entries at or after this instant."
    )
    to: dt.datetime | None = strawberry.field(default=None, description="Only entries before this instant.")


@strawberry.input(description="Narrows a list of compliance checks.")
class ComplianceCheckFilter:
    framework: list[ComplianceFramework] | None = strawberry.field(default=None, description="Only these frameworks.")
    status: list[ComplianceStatus] | None = strawberry.field(default=None, description="Only these outcomes.")


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
        description="People in the organization, from both stores joined by e-mail, ordered by e-mail. "
        "When the Brain store is unavailable, lists the enterprise accounts only."
    )
    async def members(
        self, info: Ctx, first: First = None, after: After = None, last: Last = None, before: Before = None
    ) -> Connection[Member] | None:
        return Connection.of(await members.page(info.context, Page(first, after, last, before)), Member.from_row)

    @strawberry.field(description="Invitations to join the organization (MongoDB), newest first.")
    async def invitations(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[InvitationFilter | None, strawberry.argument(description="Narrow the list.")] = None,
    ) -> Connection[Invitation] | None:
        info.context.require(Permission.READ_SENSITIVE)
        statuses = stored_values(filter.status if filter else None)
        rows = await invitations.page(info.context.mongo, Page(first, after, last, before), statuses=statuses)
        return Connection.of(rows, Invitation.from_doc)

    @strawberry.field(description="AgentKit agents (MongoDB), by name unless `orderBy` says otherwise.")
    async def agents(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[AgentFilter | None, strawberry.argument(description="Narrow the list.")] = None,
        order_by: Annotated[AgentOrder, strawberry.argument(description="Order of the list.")] = AgentOrder.NAME,
    ) -> Connection[Agent] | None:
        rows = await agents.page(
            info.context.mongo,
            Page(first, after, last, before),
            enabled=filter.enabled if filter else None,
            name_contains=filter.name_contains if filter else None,
            order=stored(order_by),
        )
        return Connection.of(rows, Agent.from_doc)

    @strawberry.field(description="AgentKit workflows (MongoDB), by name unless `orderBy` says otherwise.")
    async def workflows(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[WorkflowFilter | None, strawberry.argument(description="Narrow the list.")] = None,
        order_by: Annotated[WorkflowOrder, strawberry.argument(description="Order of the list.")] = WorkflowOrder.NAME,
    ) -> Connection[Workflow] | None:
        rows = await workflows.page(
            info.context.mongo,
            Page(first, after, last, before),
            statuses=stored_values(filter.status if filter else None),
            name_contains=filter.name_contains if filter else None,
            order=stored(order_by),
        )
        return Connection.of(rows, Workflow.from_doc)

    @strawberry.field(description="Runs of all the organization's workflows (MongoDB), newest first.")
    async def executions(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[ExecutionFilter | None, strawberry.argument(description="Narrow the list.")] = None,
    ) -> Connection[WorkflowExecution] | None:
        workflow_id = ids.raw_id(filter.workflow_id, "Workflow") if filter and filter.workflow_id else None
        rows = await executions.page(
            info.context.mongo,
            Page(first, after, last, before),
            workflow_id=workflow_id,
            statuses=stored_values(filter.status if filter else None),
        )
        return Connection.of(rows, WorkflowExecution.from_doc)

    @strawberry.field(description="Workflow schedules (MongoDB), the next to run first.")
    async def scheduled_workflows(
        self, info: Ctx, first: First = None, after: After = None, last: Last = None, before: Before = None
    ) -> Connection[ScheduledWorkflow] | None:
        rows = await workflows.schedules_page(info.context.mongo, Page(first, after, last, before))
        return Connection.of(rows, ScheduledWorkflow.from_doc)

    @strawberry.field(description="The audit trail (MongoDB), newest first.")
    async def audit_logs(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[AuditLogFilter | None, strawberry.argument(description="Narrow the list.")] = None,
    ) -> Connection[AuditLog] | None:
        info.context.require(Permission.READ_SENSITIVE)
        rows = await audit.page(
            info.context.mongo,
            Page(first, after, last, before),
            action=filter.action if filter else None,
            actor_id=filter.actor_id if filter else None,
            since=filter.from_ if filter else None,
            until=filter.to if filter else None,
        )
        return Connection.of(rows, AuditLog.from_doc)

    @strawberry.field(description="Compliance controls and their latest check (MongoDB), by framework and control.")
    async def compliance_checks(
        self,
        info: Ctx,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[ComplianceCheckFilter | None, strawberry.argument(description="Narrow the list.")] = None,
    ) -> Connection[ComplianceCheck] | None:
        rows = await compliance.page(
            info.context.mongo,
            Page(first, after, last, before),
            frameworks=stored_values(filter.framework if filter else None),
            statuses=stored_values(filter.status if filter else None),
        )
        return Connection.of(rows, ComplianceCheck.from_doc)

    @strawberry.field(description="Usage quotas (MongoDB), the latest period first, then by resource.")
    async def usage_quotas(self, info: Ctx) -> list[UsageQuota] | None:
        return [UsageQuota.from_doc(doc) for doc in await usage.quotas(info.context.mongo)]

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
