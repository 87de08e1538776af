"""AgentKit workflows and their schedules."""

from __future__ import annotations

from collections.abc import Sequence

from aiodataloader import DataLoader

from gateway.context import RequestContext
from gateway.data.enterprise.query import ById, any_of, by_ids, collection_page, contains, ordered, sort_key
from gateway.data.paging import Ordering, Page, Paged
from gateway.stores.mongo import Document, TenantMongo

SORTS: dict[str, Ordering] = {
    "name": ordered(sort_key("name", "s")),
    "newest": ordered(sort_key("created_at", "t", descending=True)),
    "recently_updated": ordered(sort_key("updated_at", "t", descending=True)),
}


async def page(
    mongo: TenantMongo,
    page: Page,
    *,
    statuses: Sequence[str] = (),
    name_contains: str | None = None,
    order: str = "name",
) -> Paged[Document]:
    """Workflows in one of the `SORTS` orders."""
    query = {**any_of("status", statuses), **contains("name", name_contains)}
    return await collection_page(mongo, "Organization.workflows", page, "agentkit_workflows", query, SORTS[order])


def by_id(ctx: RequestContext) -> ById:
    return by_ids(ctx, "agentkit_workflows")


# --- schedules -------------------------------------------------------------------------------


async def schedules_page(mongo: TenantMongo, page: Page) -> Paged[Document]:
    """Schedules, the next to run first."""
    return await collection_page(
        mongo, "Organization.scheduledWorkflows", page, "scheduled_workflows", {}, ordered(sort_key("next_run_at", "t"))
    )


def schedule_by_id(ctx: RequestContext) -> ById:
    return by_ids(ctx, "scheduled_workflows")


def schedule_by_workflow(ctx: RequestContext) -> DataLoader[str, Document | None]:
    """Each workflow's schedule; should a workflow have several, the oldest wins, stably."""
    mongo = ctx.mongo

    async def load(workflow_ids: Sequence[str]) -> list[Document | None]:
        docs = await mongo.find("scheduled_workflows", {"workflow_id": {"$in": list(workflow_ids)}}, sort=[("_id", 1)])
        first: dict[str, Document] = {}
        for doc in docs:
            first.setdefault(doc["workflow_id"], doc)
        return [first.get(workflow_id) for workflow_id in workflow_ids]

    return DataLoader(load)
