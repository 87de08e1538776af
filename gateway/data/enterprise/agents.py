"""AgentKit agents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bson import ObjectId

from gateway.core.context import RequestContext
from gateway.core.mongo_mutations import Writes
from gateway.data.enterprise.query import ById, all_of, any_of, by_ids, collection_page, contains, ordering, within
from gateway.data.filters import Sort, TimeRange
from gateway.data.paging import TEXT, TIME, Page, Paged
from gateway.stores.mongo import Document, TenantMongo

BY_NAME = (Sort("name"),)
# Each `orderBy` field and the type of its values.
KINDS = {"name": TEXT, "created_at": TIME, "kind": TEXT}


@dataclass(frozen=True)
class Filter:
    """Which agents a list holds; every part given must hold."""

    enabled: bool | None = None
    name_contains: str | None = None
    kinds: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    created: TimeRange | None = None


def query(f: Filter) -> Document:
    return all_of(
        {} if f.enabled is None else {"enabled": f.enabled},
        contains("name", f.name_contains),
        any_of("kind", f.kinds),
        any_of("model", f.models),
        within("created_at", f.created),
    )


async def page(mongo: TenantMongo, page: Page, f: Filter, order: Sequence[Sort] = ()) -> Paged[Document]:
    """Agents matching `f`, by name unless `order` says otherwise."""
    return await collection_page(
        mongo, "Organization.agents", page, "agentkit_agents", query(f), ordering(order, BY_NAME, KINDS)
    )


def by_id(ctx: RequestContext) -> ById:
    return by_ids(ctx, "agentkit_agents")


async def known(w: Writes, agent_ids: Sequence[ObjectId]) -> set[ObjectId]:
    """Which of the ids are agents of the organization (one of another organization is simply absent)."""
    return {doc["_id"] for doc in await w.find("agentkit_agents", {"_id": {"$in": list(set(agent_ids))}})}
