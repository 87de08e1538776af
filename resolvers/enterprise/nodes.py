"""`node(id)` for MongoDB types: global-id type name -> fetch by raw id within the tenant.

Fetches go through the per-request loaders, so several `node` fields in one
query share a batch. An id that is malformed or belongs to another
organization resolves to None: the loaders skip invalid ObjectIds and
`TenantMongo` never sees another organization's documents.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from gateway.core.context import RequestContext
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
from gateway.data.enterprise.query import ById
from gateway.stores.mongo import Document
from resolvers.enterprise.agentkit import Agent, ScheduledWorkflow, Workflow, WorkflowExecution
from resolvers.enterprise.types import (
    AnalyticsPoint,
    AuditLog,
    BillingSubscription,
    ComplianceCheck,
    Invitation,
    Member,
    UsageQuota,
)

NodeResolver = Callable[[RequestContext, str], Awaitable[object | None]]


def _by_id(loader: Callable[[RequestContext], ById], build: Callable[[Document], object]) -> NodeResolver:
    async def resolve(ctx: RequestContext, raw_id: str) -> object | None:
        doc = await ctx.loader(loader).load(raw_id)
        return build(doc) if doc is not None else None

    return resolve


async def _member(ctx: RequestContext, raw_id: str) -> object | None:
    row = await members.by_raw_id(ctx, raw_id)
    return Member.from_row(row) if row else None


NODE_RESOLVERS: dict[str, NodeResolver] = {
    "BillingSubscription": _by_id(organizations.subscriptions_by_id, BillingSubscription.from_doc),
    "Member": _member,
    "Agent": _by_id(agents.by_id, Agent.from_doc),
    "Workflow": _by_id(workflows.by_id, Workflow.from_doc),
    "WorkflowExecution": _by_id(executions.by_id, WorkflowExecution.from_doc),
    "ScheduledWorkflow": _by_id(workflows.schedule_by_id, ScheduledWorkflow.from_doc),
    "AuditLog": _by_id(audit.by_id, AuditLog.from_doc),
    "ComplianceCheck": _by_id(compliance.by_id, ComplianceCheck.from_doc),
    "AnalyticsPoint": _by_id(usage.analytics_point_by_id, AnalyticsPoint.from_doc),
    "UsageQuota": _by_id(usage.quota_by_id, UsageQuota.from_doc),
    "Invitation": _by_id(invitations.by_id, Invitation.from_doc),
}
