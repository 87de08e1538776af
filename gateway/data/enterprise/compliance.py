"""Compliance controls and their latest checks."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.context import RequestContext
from gateway.data.enterprise.query import ById, any_of, by_ids, collection_page, ordered, sort_key
from gateway.data.paging import Page, Paged
from gateway.stores.mongo import Document, TenantMongo


async def page(
    mongo: TenantMongo, page: Page, *, frameworks: Sequence[str] = (), statuses: Sequence[str] = ()
) -> Paged[Document]:
    """Checks by framework, then control."""
    query = {**any_of("framework", frameworks), **any_of("status", statuses)}
    return await collection_page(
        mongo,
        "Organization.complianceChecks",
        page,
        "compliance_checks",
        query,
        ordered(sort_key("framework", "s"), sort_key("control", "s")),
    )


def by_id(ctx: RequestContext) -> ById:
    return by_ids(ctx, "compliance_checks")
