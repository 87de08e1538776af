"""AgentKit agents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bson import ObjectId

from gateway.core.context import RequestContext
from gateway.core.mongo_mutations import Audit, Writes, now
from gateway.data.enterprise.query import ById, all_of, any_of, by_ids, collection_page, contains, ordering, within
from gateway.data.filters import Sort, TimeRange
from gateway.data.paging import TEXT, TIME, Page, Paged
from gateway.stores.mongo import Document, TenantMongo

COLLECTION = "agentkit_agents"
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


async def disabled_among(w: Writes, agent_ids: Sequence[str]) -> list[str]:
    """Which of the agents (ids as workflow steps store them) are switched off, in the order given."""
    wanted = [ObjectId(agent_id) for agent_id in dict.fromkeys(agent_ids) if ObjectId.is_valid(agent_id)]
    off = {str(doc["_id"]) for doc in await w.find(COLLECTION, {"_id": {"$in": wanted}, "enabled": False})}
    return [agent_id for agent_id in dict.fromkeys(agent_ids) if agent_id in off]


def new_agent(name: str, kind: str, model: str, config: Document, created_by: str) -> Document:
    """An agent as created: enabled."""
    moment = now()
    return {
        "_id": ObjectId(),
        "name": name,
        "kind": kind,
        "model": model,
        "config": config,
        "enabled": True,
        "created_at": moment,
        "updated_at": moment,
        "created_by": created_by,
    }


async def find(w: Writes, agent_id: ObjectId) -> Document | None:
    return await w.find_one(COLLECTION, {"_id": agent_id})


async def create(w: Writes, agent: Document, audit: Audit) -> Document:
    return await w.insert(COLLECTION, agent, audit)


async def change(w: Writes, agent_id: ObjectId, changes: Document, audit: Audit) -> Document | None:
    """Set `changes` on the agent (None: it is gone)."""
    return await w.update(COLLECTION, {"_id": agent_id}, {"$set": {**changes, "updated_at": now()}}, audit)
