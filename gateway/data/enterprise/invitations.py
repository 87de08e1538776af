"""Team invitations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from gateway.context import RequestContext
from gateway.data.enterprise.query import ById, any_of, by_ids, collection_page, ordered, sort_key
from gateway.data.paging import Page, Paged
from gateway.stores.mongo import Document, TenantMongo


def status_of(doc: Document) -> str:
    """A pending invitation past its expiry reads as expired; nothing has to rewrite it when time runs out."""
    if doc["status"] == "pending" and doc["expires_at"] <= dt.datetime.now(dt.UTC):
        return "expired"
    return str(doc["status"])


def status_query(statuses: Sequence[str], moment: dt.datetime) -> Document:
    """A filter for invitations whose status, as `status_of` reads it at `moment`, is one of `statuses`."""
    if not statuses:
        return {}
    alternatives: list[Document] = []
    stored = [s for s in statuses if s not in ("pending", "expired")]
    if stored:
        alternatives.append(any_of("status", stored))
    if "pending" in statuses:
        alternatives.append({"status": "pending", "expires_at": {"$gt": moment}})
    if "expired" in statuses:
        alternatives.append({"status": "expired"})
        alternatives.append({"status": "pending", "expires_at": {"$lte": moment}})
    return alternatives[0] if len(alternatives) == 1 else {"$or": alternatives}


async def page(mongo: TenantMongo, page: Page, *, statuses: Sequence[str] = ()) -> Paged[Document]:
    """Invitations, newest first, filtered by their status as `status_of` reads it."""
    return await collection_page(
        mongo,
        "Organization.invitations",
        page,
        "team_invitations",
        status_query(statuses, dt.datetime.now(dt.UTC)),
        ordered(sort_key("created_at", "t", descending=True)),
    )


def by_id(ctx: RequestContext) -> ById:
    return by_ids(ctx, "team_invitations")
