"""The audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bson import ObjectId

from gateway.core.context import RequestContext
from gateway.core.mongo_mutations import without_marker
from gateway.data.enterprise.query import ById, all_of, any_of, by_ids, collection_page, ordering, within
from gateway.data.filters import Sort, TimeRange
from gateway.data.paging import TEXT, TIME, Page, Paged
from gateway.stores.mongo import Document, TenantMongo

NEWEST_FIRST = (Sort("at", descending=True),)
# Each `orderBy` field and the type of its values.
KINDS = {"at": TIME, "action": TEXT}


@dataclass(frozen=True)
class Filter:
    """Which entries a list holds; every part given must hold."""

    actions: tuple[str, ...] = ()
    actor_ids: tuple[str, ...] = ()
    actor_kinds: tuple[str, ...] = ()
    target_types: tuple[str, ...] = ()
    at: TimeRange | None = None


def query(f: Filter) -> Document:
    return all_of(
        any_of("action", f.actions),
        any_of("actor.id", f.actor_ids),
        any_of("actor.kind", f.actor_kinds),
        any_of("target.type", f.target_types),
        within("at", f.at),
    )


async def page(mongo: TenantMongo, page: Page, f: Filter, order: Sequence[Sort] = ()) -> Paged[Document]:
    """Entries matching `f`, newest first unless `order` says otherwise."""
    return await collection_page(
        mongo, "Organization.auditLogs", page, "audit_logs", query(f), ordering(order, NEWEST_FIRST, KINDS)
    )


def by_id(ctx: RequestContext) -> ById:
    return by_ids(ctx, "audit_logs")


# Where the object named by an audit event lives, and under which payload key it is answered.
RECOVERABLE_TARGETS = {
    "Invitation": ("team_invitations", "invitation"),
    "Workflow": ("agentkit_workflows", "workflow"),
    "WorkflowExecution": ("agentkit_executions", "execution"),
    "ScheduledWorkflow": ("scheduled_workflows", "schedule"),
    "Agent": ("agentkit_agents", "agent"),
    "Member": ("users", "member"),
}


async def target_now(tenant: TenantMongo, event: Document) -> tuple[str, Document | None]:
    """The object an audit event names, as it is now, and the payload key it is answered under."""
    collection, key = RECOVERABLE_TARGETS[event["target"]["type"]]
    doc = await tenant.find_one(collection, {"_id": ObjectId(event["target"]["id"])})
    return key, without_marker(doc) if doc is not None else None
