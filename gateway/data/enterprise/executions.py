"""Workflow executions: the organization's runs, each workflow's runs, by id, counts by status."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from aiodataloader import DataLoader
from bson import ObjectId

from gateway.core.context import RequestContext
from gateway.core.mongo_mutations import Audit, Writes, now
from gateway.core.rules import reject
from gateway.data.enterprise.query import (
    ById,
    all_of,
    any_of,
    by_ids,
    collection_page,
    grouped,
    keyed,
    ordering,
    seeking,
    sort_of,
    within,
)
from gateway.data.enterprise.usage import LATEST_PERIOD, QUOTA_ATTEMPTS, current_quota_query
from gateway.data.filters import Sort, TimeRange
from gateway.data.paging import TEXT, TIME, Keyed, Page, Paged, Seek, paged
from gateway.errors import Conflict
from gateway.stores.mongo import Document, TenantMongo

COLLECTION = "agentkit_executions"
# By creation: queued runs have no start time yet but are the newest.
NEWEST_FIRST = (Sort("created_at", descending=True),)
# Each `orderBy` field and the type of its values.
KINDS = {"created_at": TIME, "started_at": TIME, "finished_at": TIME, "status": TEXT}


@dataclass(frozen=True)
class Filter:
    """Which runs a list holds; every part given must hold."""

    workflow_ids: tuple[str, ...] | None = None  # None: every workflow's
    statuses: tuple[str, ...] = ()
    triggers: tuple[str, ...] = ()
    created: TimeRange | None = None
    started: TimeRange | None = None
    finished: TimeRange | None = None


def query(f: Filter) -> Document:
    return all_of(
        {} if f.workflow_ids is None else {"workflow_id": {"$in": list(f.workflow_ids)}},
        any_of("status", f.statuses),
        any_of("triggered_by", f.triggers),
        within("created_at", f.created),
        within("started_at", f.started),
        within("finished_at", f.finished),
    )


async def page(mongo: TenantMongo, page: Page, f: Filter, order: Sequence[Sort] = ()) -> Paged[Document]:
    """The organization's runs matching `f`, newest first unless `order` says otherwise."""
    return await collection_page(
        mongo, "Organization.executions", page, COLLECTION, query(f), ordering(order, NEWEST_FIRST, KINDS)
    )


async def counts_by_status(mongo: TenantMongo, f: Filter) -> dict[str, int]:
    """How many runs match `f` but its statuses, per status (those without runs left out)."""
    found = await mongo.count_by(COLLECTION, query(replace(f, statuses=())), ["status"])
    return {status: n for (status,), n in found.items()}


def by_id(ctx: RequestContext) -> ById:
    return by_ids(ctx, COLLECTION)


# --- a workflow's executions: one query per distinct argument set, not per workflow ----------


@dataclass(frozen=True)
class Slice:
    """One page of one workflow's executions."""

    workflow_id: str
    within: Filter  # without workflow ids: the key's own is added
    seek: Seek


@dataclass(frozen=True)
class Count:
    """How many of one workflow's executions match a filter; per status when `by_status`."""

    workflow_id: str
    within: Filter
    by_status: bool = False


def _for(workflow_ids: Sequence[str], f: Filter) -> Document:
    # A filter naming workflows narrows each workflow's own list to nothing unless it names that workflow.
    wanted = workflow_ids if f.workflow_ids is None else [w for w in workflow_ids if w in f.workflow_ids]
    return query(replace(f, workflow_ids=tuple(wanted)))


async def _load_slices(mongo: TenantMongo, keys: Sequence[Slice]) -> list[list[Document]]:
    pages: dict[Slice, list[Document]] = {}
    for (f, wanted), group in grouped(keys, lambda k: (k.within, k.seek)).items():
        workflow_ids = sorted({k.workflow_id for k in group})
        found = seeking(_for(workflow_ids, f), wanted)
        sort = sort_of(wanted.order)
        if len(workflow_ids) == 1:
            by_workflow = {workflow_ids[0]: await mongo.find(COLLECTION, found, sort=sort, limit=wanted.limit)}
        else:
            by_workflow = await mongo.find_per_group(
                COLLECTION, found, group="workflow_id", sort=sort, skip=0, limit=wanted.limit
            )
        for key in group:
            pages[key] = by_workflow.get(key.workflow_id, [])
    return [pages[key] for key in keys]


async def _load_counts(mongo: TenantMongo, keys: Sequence[Count]) -> list[dict[str, int]]:
    """Per key, its count by status (`by_status`) or its total under the key `""`."""
    counts: dict[Count, dict[str, int]] = {}
    for (f, by_status), group in grouped(keys, lambda k: (k.within, k.by_status)).items():
        workflow_ids = sorted({k.workflow_id for k in group})
        fields = ["workflow_id", "status"] if by_status else ["workflow_id"]
        found: dict[str, dict[str, int]] = {}
        for (workflow_id, *status), n in (await mongo.count_by(COLLECTION, _for(workflow_ids, f), fields)).items():
            found.setdefault(workflow_id, {})["".join(status)] = n
        for key in group:
            counts[key] = found.get(key.workflow_id, {})
    return [counts[key] for key in keys]


def slices(ctx: RequestContext) -> DataLoader[Slice, list[Document]]:
    return DataLoader(partial(_load_slices, ctx.mongo))


def counts(ctx: RequestContext) -> DataLoader[Count, dict[str, int]]:
    return DataLoader(partial(_load_counts, ctx.mongo))


async def page_of_workflow(
    ctx: RequestContext, workflow_id: str, page: Page, f: Filter, order: Sequence[Sort] = ()
) -> Paged[Document]:
    """One workflow's runs matching `f`, newest first unless `order` says otherwise; pages of sibling
    workflows asked with the same arguments share one query."""
    sorted_by = ordering(order, NEWEST_FIRST, KINDS)

    async def count() -> int:
        return (await ctx.loader(counts).load(Count(workflow_id, f))).get("", 0)

    async def fetch(wanted: Seek) -> list[Keyed[Document]]:
        return keyed(await ctx.loader(slices).load(Slice(workflow_id, f, wanted)), sorted_by)

    return await paged("Workflow.executions", page, sorted_by, count, fetch)


async def workflow_counts_by_status(ctx: RequestContext, workflow_id: str, f: Filter) -> dict[str, int]:
    """`counts_by_status` of one workflow's runs; sibling workflows share one aggregate."""
    return await ctx.loader(counts).load(Count(workflow_id, replace(f, statuses=()), by_status=True))


# --- writes (inside an enterprise mutation) -------------------------------------------------


# Runs that may still be cancelled, and runs that may be retried.
CANCELLABLE = ("queued", "running")
RETRYABLE = ("failed", "cancelled")


def new_execution(
    workflow: Document,
    run_input: dict[str, Any],
    trigger: str,
    actor: dict[str, Any],
    retry_of: str | None = None,
) -> Document:
    """A run of the workflow at its current version, queued now; `retry_of`: the run it repeats."""
    extra = {} if retry_of is None else {"retry_of": retry_of}
    return {
        **extra,
        "_id": ObjectId(),
        "workflow_id": str(workflow["_id"]),
        "workflow_version": workflow["version"],
        "status": "queued",
        "input": run_input,
        "output": None,
        "error": None,
        "triggered_by": trigger,
        "triggered_by_actor": actor,
        "created_at": now(),
        "started_at": None,
        "finished_at": None,
    }


async def start(w: Writes, execution: Document, audit: Audit) -> Document:
    """Take one unit of the current `workflow_runs` quota, creating the execution with it; the quota after."""
    for _ in range(QUOTA_ATTEMPTS):
        quota = await w.find_one("usage_quotas", current_quota_query("workflow_runs", now()), sort=LATEST_PERIOD)
        if quota is None or quota["used"] >= quota["limit"]:
            raise reject("QUOTA_EXCEEDED", "the organization has used all workflow runs of this period", "workflowId")
        # The limit is pinned in the filter: the stand-in cannot compare two fields ($expr).
        limit = quota["limit"]
        taken = await w.update(
            "usage_quotas",
            {"_id": quota["_id"], "limit": limit, "used": {"$lt": limit}},
            {"$inc": {"used": 1}},
            audit,
            also_insert=(COLLECTION, execution),
        )
        if taken is not None:
            return taken
    raise Conflict("the quota kept changing while the run started; try again")


async def find(w: Writes, execution_id: ObjectId) -> Document | None:
    return await w.find_one(COLLECTION, {"_id": execution_id})


async def cancel(w: Writes, execution_id: ObjectId, by: dict[str, Any], audit: Audit) -> Document | None:
    """Cancel the run if it is still queued or running (None: it finished or was cancelled meanwhile)."""
    moment = now()
    return await w.update(
        COLLECTION,
        {"_id": execution_id, "status": {"$in": list(CANCELLABLE)}},
        {"$set": {"status": "cancelled", "finished_at": moment, "cancelled_at": moment, "cancelled_by": by}},
        audit,
    )
