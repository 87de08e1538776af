"""The MongoDB half of `Organization`: billing, members, AgentKit, audit, compliance, usage.

Lists are Relay connections over offset cursors (`resolvers.common.relay`).
Every sort ends on `_id`, so equal keys keep one order across pages.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Annotated, TypeVar

import strawberry
from strawberry import Info

from gateway.context import RequestContext
from gateway.errors import BadUserInput, NotFound
from gateway.permissions import Permission
from gateway.stores.mongo import Document, TenantMongo
from resolvers.common.inputs import contains_text
from resolvers.common.relay import (
    After,
    Before,
    Connection,
    First,
    Last,
    Page,
    connection,
    from_global_id,
    needs_total,
    window,
)
from resolvers.enterprise.loaders import NEWEST_EXECUTIONS_FIRST, Sort, brain_users, execution_query
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
    invitation_status_query,
    stored_values,
)

Ctx = Info[RequestContext, None]
T = TypeVar("T")

MAX_ANALYTICS_DAYS = 366


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


AGENT_SORT: dict[AgentOrder, Sort] = {
    AgentOrder.NAME: [("name", 1), ("_id", 1)],
    AgentOrder.NEWEST: [("created_at", -1), ("_id", -1)],
}
WORKFLOW_SORT: dict[WorkflowOrder, Sort] = {
    WorkflowOrder.NAME: [("name", 1), ("_id", 1)],
    WorkflowOrder.NEWEST: [("created_at", -1), ("_id", -1)],
    WorkflowOrder.RECENTLY_UPDATED: [("updated_at", -1), ("_id", -1)],
}


def _in(field: str, wanted: tuple[str, ...]) -> Document:
    return {field: {"$in": list(wanted)}} if wanted else {}


def _contains(field: str, text: str | None) -> Document:
    # Escaped: the analyst's text is a substring, not a pattern.
    return {field: {"$regex": re.escape(contains_text(text)), "$options": "i"}} if text else {}


def _utc(value: dt.datetime) -> dt.datetime:
    # An instant without an offset is read as UTC, as the DateTime scalar documents.
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _workflow_raw_id(global_id: strawberry.ID) -> str:
    type_name, raw = from_global_id(global_id)
    if type_name != "Workflow":
        raise BadUserInput(f"{global_id!r} is not a Workflow id")
    return raw


def _audit_query(filter: AuditLogFilter | None) -> Document:
    if filter is None:
        return {}
    query: Document = {}
    if filter.action:
        query["action"] = filter.action
    if filter.actor_id:
        query["actor.id"] = filter.actor_id
    since = _utc(filter.from_) if filter.from_ else None
    until = _utc(filter.to) if filter.to else None
    if since and until and since > until:
        raise BadUserInput("`from` must not be after `to`")
    at = {op: value for op, value in (("$gte", since), ("$lt", until)) if value is not None}
    if at:
        query["at"] = at
    return query


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, dt.UTC)


def _analytics_range(start: dt.date, end: dt.date) -> Document:
    if start > end:
        raise BadUserInput("`from` must not be after `to`")
    if (end - start).days + 1 > MAX_ANALYTICS_DAYS:
        raise BadUserInput(f"a date range may span at most {MAX_ANALYTICS_DAYS} days")
    return {"$gte": _midnight(start), "$lt": _midnight(end + dt.timedelta(days=1))}


# --- paging ------------------------------------------------------------------------------------


def _once(count: Callable[[], Awaitable[int]]) -> Callable[[], Awaitable[int]]:
    """`count`, asked at most once: `last` needs the total before `totalCount` does."""
    result: list[int] = []

    async def cached() -> int:
        if not result:
            result.append(await count())
        return result[0]

    return cached


async def _paged(
    key: str, page: Page, count: Callable[[], Awaitable[int]], rows: Callable[[int, int], Awaitable[list[T]]]
) -> Connection[T]:
    """A connection over any list given how to count it and how to fetch `limit` rows from `offset`."""
    counted = _once(count)
    total = await counted() if needs_total(page.last, page.before) else None
    win = window(key, page.first, page.after, page.last, page.before, total)
    # A limit of 0 would mean "no limit" to MongoDB.
    items = await rows(win.offset, win.limit) if win.limit > 0 else []
    return connection(win, items, counted)


async def _mongo_connection(
    mongo: TenantMongo,
    key: str,
    page: Page,
    collection: str,
    query: Document,
    sort: Sort,
    build: Callable[[Document], T],
) -> Connection[T]:
    async def count() -> int:
        return await mongo.count(collection, query)

    async def rows(offset: int, limit: int) -> list[T]:
        docs = await mongo.find(collection, query, sort=sort, skip=offset, limit=limit)
        return [build(doc) for doc in docs]

    return await _paged(key, page, count, rows)


# --- members (both stores) ---------------------------------------------------------------------


async def _member_page(ctx: RequestContext, offset: int, limit: int) -> list[Member]:
    # The first n members of the union are among the first n of each store, so
    # fetching offset+limit from each and merging gives the page.
    wanted = offset + limit
    enterprise = {doc["email"]: doc for doc in await ctx.mongo.find("users", sort=[("email", 1)], limit=wanted)}
    brain = await brain_users(ctx, wanted)
    brain_by_email = {user.email: user for user in brain or []}
    emails = sorted(enterprise.keys() | brain_by_email.keys())[offset:wanted]
    return [
        Member.from_accounts(email, enterprise.get(email), brain_by_email.get(email), brain_known=brain is not None)
        for email in emails
    ]


async def _member_count(ctx: RequestContext) -> int:
    enterprise = {doc["email"] for doc in await ctx.mongo.find("users", projection={"email": 1})}
    brain = {user.email for user in await brain_users(ctx) or []}
    return len(enterprise | brain)


# --- the fields ----------------------------------------------------------------------------------


@strawberry.type
class EnterpriseOrganization:
    """Fields of `Organization` that MongoDB answers."""

    @strawberry.field(description="Billing plan (MongoDB).")
    async def plan(self, info: Ctx) -> Plan | None:
        doc = await info.context.mongo.find_one("organizations")
        if doc is None:
            raise NotFound("organization not found in the enterprise store")
        return Plan(doc["plan"])

    @strawberry.field(description="The current (most recent) billing subscription (MongoDB).")
    async def subscription(self, info: Ctx) -> BillingSubscription | None:
        docs = await info.context.mongo.find("subscriptions", sort=[("current_period_end", -1)], limit=1)
        return BillingSubscription.from_doc(docs[0]) if docs else None

    @strawberry.field(
        description="People in the organization, from both stores joined by e-mail, ordered by e-mail. "
        "When the Brain store is unavailable, lists the enterprise accounts only."
    )
    async def members(
        self, info: Ctx, first: First = None, after: After = None, last: Last = None, before: Before = None
    ) -> Connection[Member] | None:
        ctx = info.context

        async def rows(offset: int, limit: int) -> list[Member]:
            return await _member_page(ctx, offset, limit)

        async def count() -> int:
            return await _member_count(ctx)

        return await _paged("Organization.members", Page(first, after, last, before), count, rows)

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
        query = invitation_status_query(stored_values(filter.status if filter else None), dt.datetime.now(dt.UTC))
        return await _mongo_connection(
            info.context.mongo,
            "Organization.invitations",
            Page(first, after, last, before),
            "team_invitations",
            query,
            [("created_at", -1), ("_id", -1)],
            Invitation.from_doc,
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
        order_by: Annotated[AgentOrder, strawberry.argument(description="Order of the list.")] = AgentOrder.NAME,
    ) -> Connection[Agent] | None:
        query: Document = {}
        if filter is not None:
            if filter.enabled is not None:
                query["enabled"] = filter.enabled
            query.update(_contains("name", filter.name_contains))
        return await _mongo_connection(
            info.context.mongo,
            "Organization.agents",
            Page(first, after, last, before),
            "agentkit_agents",
            query,
            AGENT_SORT[order_by],
            Agent.from_doc,
        )

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
        query: Document = {}
        if filter is not None:
            query.update(_in("status", stored_values(filter.status)))
            query.update(_contains("name", filter.name_contains))
        return await _mongo_connection(
            info.context.mongo,
            "Organization.workflows",
            Page(first, after, last, before),
            "agentkit_workflows",
            query,
            WORKFLOW_SORT[order_by],
            Workflow.from_doc,
        )

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
        workflow_ids = [_workflow_raw_id(filter.workflow_id)] if filter and filter.workflow_id else None
        query = execution_query(workflow_ids, stored_values(filter.status if filter else None))
        return await _mongo_connection(
            info.context.mongo,
            "Organization.executions",
            Page(first, after, last, before),
            "agentkit_executions",
            query,
            NEWEST_EXECUTIONS_FIRST,
            WorkflowExecution.from_doc,
        )

    @strawberry.field(description="Workflow schedules (MongoDB), the next to run first.")
    async def scheduled_workflows(
        self, info: Ctx, first: First = None, after: After = None, last: Last = None, before: Before = None
    ) -> Connection[ScheduledWorkflow] | None:
        return await _mongo_connection(
            info.context.mongo,
            "Organization.scheduledWorkflows",
            Page(first, after, last, before),
            "scheduled_workflows",
            {},
            [("next_run_at", 1), ("_id", 1)],
            ScheduledWorkflow.from_doc,
        )

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
        return await _mongo_connection(
            info.context.mongo,
            "Organization.auditLogs",
            Page(first, after, last, before),
            "audit_logs",
            _audit_query(filter),
            [("at", -1), ("_id", -1)],
            AuditLog.from_doc,
        )

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
        query: Document = {}
        if filter is not None:
            query.update(_in("framework", stored_values(filter.framework)))
            query.update(_in("status", stored_values(filter.status)))
        return await _mongo_connection(
            info.context.mongo,
            "Organization.complianceChecks",
            Page(first, after, last, before),
            "compliance_checks",
            query,
            [("framework", 1), ("control", 1), ("_id", 1)],
            ComplianceCheck.from_doc,
        )

    @strawberry.field(description="Usage quotas (MongoDB), the latest period first, then by resource.")
    async def usage_quotas(self, info: Ctx) -> list[UsageQuota] | None:
        docs = await info.context.mongo.find("usage_quotas", sort=[("period_end", -1), ("resource", 1), ("_id", 1)])
        return [UsageQuota.from_doc(doc) for doc in docs]

    @strawberry.field(description="One analytics series (MongoDB) over a date range of at most 366 days, oldest first.")
    async def analytics(
        self,
        info: Ctx,
        metric: Annotated[str, strawberry.argument(description="What is measured, e.g. `sessions`.")],
        period: Annotated[AnalyticsPeriod, strawberry.argument(description="Granularity of the series.")],
        from_: Annotated[dt.date, strawberry.argument(name="from", description="First day of the range (inclusive).")],
        to: Annotated[dt.date, strawberry.argument(description="Last day of the range (inclusive).")],
    ) -> list[AnalyticsPoint] | None:
        query = {"metric": metric, "period": period.value, "date": _analytics_range(from_, to)}
        docs = await info.context.mongo.find("analytics_data", query, sort=[("date", 1), ("_id", 1)])
        return [AnalyticsPoint.from_doc(doc) for doc in docs]
