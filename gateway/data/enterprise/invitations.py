"""Team invitations."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.context import RequestContext
from gateway.data.enterprise.query import ById, any_of, by_ids, collection_page
from gateway.data.paging import Page, Paged
from gateway.stores.mongo import Document, TenantMongo


async def page(mongo: TenantMongo, page: Page, *, statuses: Sequence[str] = ()) -> Paged[Document]:
    """Invitations, newest first."""
    return await collection_page(
        mongo,
        "Organization.invitations",
        page,
        "team_invitations",
        any_of("status", statuses),
        [("created_at", -1), ("_id", -1)],
    )


def by_id(ctx: RequestContext) -> ById:
    return by_ids(ctx, "team_invitations")
