"""The audit trail."""

from __future__ import annotations

import datetime as dt

from gateway.context import RequestContext
from gateway.data.enterprise.query import ById, by_ids, collection_page, ordered, sort_key, utc
from gateway.data.paging import Page, Paged
from gateway.errors import BadUserInput
from gateway.stores.mongo import Document, TenantMongo

NEWEST_FIRST = ordered(sort_key("at", "t", descending=True))


def _query(action: str | None, actor_id: str | None, since: dt.datetime | None, until: dt.datetime | None) -> Document:
    query: Document = {}
    if action:
        query["action"] = action
    if actor_id:
        query["actor.id"] = actor_id
    since = utc(since) if since else None
    until = utc(until) if until else None
    if since and until and since > until:
        raise BadUserInput("`from` must not be after `to`")
    at = {op: value for op, value in (("$gte", since), ("$lt", until)) if value is not None}
    if at:
        query["at"] = at
    return query


async def page(
    mongo: TenantMongo,
    page: Page,
    *,
    action: str | None = None,
    actor_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> Paged[Document]:
    """Entries newest first; `since` inclusive, `until` exclusive."""
    query = _query(action, actor_id, since, until)
    return await collection_page(mongo, "Organization.auditLogs", page, "audit_logs", query, NEWEST_FIRST)


def by_id(ctx: RequestContext) -> ById:
    return by_ids(ctx, "audit_logs")
