"""AgentKit agents."""

from __future__ import annotations

from gateway.context import RequestContext
from gateway.data.enterprise.query import ById, by_ids, collection_page, contains, ordered, sort_key
from gateway.data.paging import Ordering, Page, Paged
from gateway.stores.mongo import Document, TenantMongo

SORTS: dict[str, Ordering] = {
    "name": ordered(sort_key("name", "s")),
    "newest": ordered(sort_key("created_at", "t", descending=True)),
}


async def page(
    mongo: TenantMongo,
    page: Page,
    *,
    enabled: bool | None = None,
    name_contains: str | None = None,
    order: str = "name",
) -> Paged[Document]:
    """Agents in one of the `SORTS` orders."""
    query: Document = {} if enabled is None else {"enabled": enabled}
    query.update(contains("name", name_contains))
    return await collection_page(mongo, "Organization.agents", page, "agentkit_agents", query, SORTS[order])


def by_id(ctx: RequestContext) -> ById:
    return by_ids(ctx, "agentkit_agents")
