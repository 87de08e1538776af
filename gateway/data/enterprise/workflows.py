"""AgentKit workflows and their schedules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiodataloader import DataLoader
from bson import ObjectId

from gateway.core.context import RequestContext
from gateway.core.mongo_mutations import Audit, Writes, now
from gateway.data.enterprise.query import (
    ById,
    all_of,
    any_of,
    by_ids,
    collection_page,
    compared,
    contains,
    ordering,
    within,
)
from gateway.data.filters import Comparison, Sort, TimeRange
from gateway.data.paging import INT, TEXT, TIME, Page, Paged
from gateway.stores.mongo import Document, TenantMongo

COLLECTION = "agentkit_workflows"
BY_NAME = (Sort("name"),)
NEXT_TO_RUN_FIRST = (Sort("next_run_at"),)
# Each `orderBy` field and the type of its values.
KINDS = {"name": TEXT, "created_at": TIME, "updated_at": TIME, "status": TEXT, "version": INT}
SCHEDULE_KINDS = {"next_run_at": TIME, "last_run_at": TIME, "timezone": TEXT}


@dataclass(frozen=True)
class Filter:
    """Which workflows a list holds; every part given must hold."""

    statuses: tuple[str, ...] = ()
    name_contains: str | None = None
    version: Comparison | None = None
    created: TimeRange | None = None
    updated: TimeRange | None = None


def query(f: Filter) -> Document:
    return all_of(
        any_of("status", f.statuses),
        contains("name", f.name_contains),
        compared("version", f.version),
        within("created_at", f.created),
        within("updated_at", f.updated),
    )


async def page(mongo: TenantMongo, page: Page, f: Filter, order: Sequence[Sort] = ()) -> Paged[Document]:
    """Workflows matching `f`, by name unless `order` says otherwise."""
    return await collection_page(
        mongo, "Organization.workflows", page, COLLECTION, query(f), ordering(order, BY_NAME, KINDS)
    )


def by_id(ctx: RequestContext) -> ById:
    return by_ids(ctx, COLLECTION)


# --- schedules -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleFilter:
    """Which schedules a list holds; every part given must hold."""

    enabled: bool | None = None
    timezones: tuple[str, ...] = ()
    next_run: TimeRange | None = None
    last_run: TimeRange | None = None


def schedule_query(f: ScheduleFilter) -> Document:
    return all_of(
        {} if f.enabled is None else {"enabled": f.enabled},
        any_of("timezone", f.timezones),
        within("next_run_at", f.next_run),
        within("last_run_at", f.last_run),
    )


async def schedules_page(
    mongo: TenantMongo, page: Page, f: ScheduleFilter, order: Sequence[Sort] = ()
) -> Paged[Document]:
    """Schedules matching `f`, the next to run first unless `order` says otherwise."""
    return await collection_page(
        mongo,
        "Organization.scheduledWorkflows",
        page,
        "scheduled_workflows",
        schedule_query(f),
        ordering(order, NEXT_TO_RUN_FIRST, SCHEDULE_KINDS),
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


# --- writes (inside an enterprise mutation) -------------------------------------------------


def new_workflow(name: str, description: str | None, steps: list[Document], created_by: str) -> Document:
    """A workflow as created: version 1, a draft."""
    moment = now()
    return {
        "_id": ObjectId(),
        "name": name,
        "description": description,
        "steps": steps,
        "version": 1,
        "status": "draft",
        "created_at": moment,
        "updated_at": moment,
        "created_by": created_by,
    }


def new_step(agent_id: ObjectId, action: str, params: dict[str, Any]) -> Document:
    return {"agent_id": str(agent_id), "action": action, "params": params}


async def find(w: Writes, workflow_id: ObjectId) -> Document | None:
    return await w.find_one(COLLECTION, {"_id": workflow_id})


async def create(w: Writes, workflow: Document, audit: Audit) -> Document:
    return await w.insert(COLLECTION, workflow, audit)


async def update_at_version(
    w: Writes, workflow_id: ObjectId, expected: int, changes: Document, audit: Audit
) -> Document | None:
    """Apply `changes` and raise the version by one, if the workflow is still at `expected` and not archived
    (None: it changed meanwhile)."""
    return await w.update(
        COLLECTION,
        {"_id": workflow_id, "version": expected, "status": {"$ne": "archived"}},
        {"$set": {**changes, "updated_at": now()}, "$inc": {"version": 1}},
        audit,
    )
