"""`node(id)` for MongoDB types: global-id type name -> fetch by raw id within the tenant.

Fetches go through the per-request loaders, so several `node` fields in one
query share a batch. An id that is malformed or belongs to another
organization resolves to None: the loaders skip invalid ObjectIds and
`TenantMongo` never sees another organization's documents.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from gateway.context import RequestContext
from gateway.stores.mongo import Document
from resolvers.enterprise.loaders import (
    ById,
    agent_loader,
    analytics_point_loader,
    audit_log_loader,
    brain_users,
    compliance_check_loader,
    execution_loader,
    invitation_loader,
    schedule_loader,
    subscription_loader,
    usage_quota_loader,
    user_loader,
    workflow_loader,
)
from resolvers.enterprise.types import (
    Agent,
    AnalyticsPoint,
    AuditLog,
    BillingSubscription,
    ComplianceCheck,
    Invitation,
    ScheduledWorkflow,
    UsageQuota,
    Workflow,
    WorkflowExecution,
    load_member,
)

NodeResolver = Callable[[RequestContext, str], Awaitable[object | None]]


def _by_id(loader: Callable[[RequestContext], ById], build: Callable[[Document], object]) -> NodeResolver:
    async def resolve(ctx: RequestContext, raw_id: str) -> object | None:
        doc = await ctx.loader(loader).load(raw_id)
        return build(doc) if doc is not None else None

    return resolve


async def _member(ctx: RequestContext, raw_id: str) -> object | None:
    # The raw id names the enterprise account (`u:`) or, for a Brain-only member, the Brain account (`b:`).
    store, _, key = raw_id.partition(":")
    if store == "u":
        enterprise = await ctx.loader(user_loader).load(key)
        return await load_member(ctx, enterprise["email"], enterprise) if enterprise else None
    if store == "b":
        brain = next((u for u in await brain_users(ctx) or [] if u.id == key), None)
        if brain is None or await ctx.mongo.find_one("users", {"email": brain.email}) is not None:
            return None  # a member with an enterprise account goes by that account's id
        return await load_member(ctx, brain.email, None)
    return None


NODE_RESOLVERS: dict[str, NodeResolver] = {
    "BillingSubscription": _by_id(subscription_loader, BillingSubscription.from_doc),
    "Member": _member,
    "Agent": _by_id(agent_loader, Agent.from_doc),
    "Workflow": _by_id(workflow_loader, Workflow.from_doc),
    "WorkflowExecution": _by_id(execution_loader, WorkflowExecution.from_doc),
    "ScheduledWorkflow": _by_id(schedule_loader, ScheduledWorkflow.from_doc),
    "AuditLog": _by_id(audit_log_loader, AuditLog.from_doc),
    "ComplianceCheck": _by_id(compliance_check_loader, ComplianceCheck.from_doc),
    "AnalyticsPoint": _by_id(analytics_point_loader, AnalyticsPoint.from_doc),
    "UsageQuota": _by_id(usage_quota_loader, UsageQuota.from_doc),
    "Invitation": _by_id(invitation_loader, Invitation.from_doc),
}
