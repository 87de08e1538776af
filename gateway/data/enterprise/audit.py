"""The audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.core.context import RequestContext
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
