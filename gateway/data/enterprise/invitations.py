"""Team invitations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.core.context import RequestContext
from gateway.data.enterprise.query import ById, all_of, any_of, by_ids, collection_page, contains, ordering, within
from gateway.data.filters import Sort, TimeRange
from gateway.data.paging import TEXT, TIME, Page, Paged
from gateway.stores.mongo import Document, TenantMongo

NEWEST_FIRST = (Sort("created_at", descending=True),)
# Each `orderBy` field and the type of its values.
KINDS = {"created_at": TIME, "expires_at": TIME, "email": TEXT, "role": TEXT}


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


@dataclass(frozen=True)
class Filter:
    """Which invitations a list holds; every part given must hold."""

    statuses: tuple[str, ...] = ()  # as `status_of` reads them
    roles: tuple[str, ...] = ()
    email_contains: str | None = None
    created: TimeRange | None = None
    expires: TimeRange | None = None


async def page(mongo: TenantMongo, page: Page, f: Filter, order: Sequence[Sort] = ()) -> Paged[Document]:
    """Invitations matching `f`, newest first unless `order` says otherwise."""
    query = all_of(
        status_query(f.statuses, dt.datetime.now(dt.UTC)),
        any_of("role", f.roles),
        contains("email", f.email_contains),
        within("created_at", f.created),
        within("expires_at", f.expires),
    )
    return await collection_page(
        mongo, "Organization.invitations", page, "team_invitations", query, ordering(order, NEWEST_FIRST, KINDS)
    )


def by_id(ctx: RequestContext) -> ById:
    return by_ids(ctx, "team_invitations")
