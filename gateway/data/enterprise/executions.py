"""Workflow executions: the organization's runs, each workflow's runs, by id."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from aiodataloader import DataLoader

from gateway.context import RequestContext
from gateway.data.enterprise.query import (
    ById,
    by_ids,
    collection_page,
    grouped,
    keyed,
    ordered,
    seeking,
    sort_key,
    sort_of,
)
from gateway.data.paging import Keyed, Page, Paged, Seek, paged
from gateway.stores.mongo import Document, TenantMongo

COLLECTION = "agentkit_executions"
# By creation: queued runs have no start time yet but are the newest.
NEWEST_FIRST = ordered(sort_key("created_at", "t", descending=True))


def _query(workflow_ids: Sequence[str] | None, statuses: Sequence[str]) -> Document:
    query: Document = {}
    if workflow_ids is not None:
        query["workflow_id"] = {"$in": list(workflow_ids)}
    if statuses:
        query["status"] = {"$in": list(statuses)}
    return query


async def page(
    mongo: TenantMongo, page: Page, *, workflow_id: str | None = None, statuses: Sequence[str] = ()
) -> Paged[Document]:
    """The organization's runs, newest first."""
    query = _query([workflow_id] if workflow_id is not None else None, statuses)
    return await collection_page(mongo, "Organization.executions", page, COLLECTION, query, NEWEST_FIRST)


def by_id(ctx: RequestContext) -> ById:
    return by_ids(ctx, COLLECTION)


# --- a workflow's executions: one query per distinct argument set, not per workflow ----------


@dataclass(frozen=True)
class Slice:
    """One page of one workflow's executions."""

    workflow_id: str
    statuses: tuple[str, ...]  # empty: any status
    seek: Seek


@dataclass(frozen=True)
class Count:
    """How many executions one workflow has, optionally only in some statuses."""

    workflow_id: str
    statuses: tuple[str, ...]  # empty: any status


async def _load_slices(mongo: TenantMongo, keys: Sequence[Slice]) -> list[list[Document]]:
    pages: dict[Slice, list[Document]] = {}
    for (statuses, wanted), group in grouped(keys, lambda k: (k.statuses, k.seek)).items():
        workflow_ids = sorted({k.workflow_id for k in group})
        query = seeking(_query(workflow_ids, statuses), wanted)
        sort = sort_of(wanted.order)
        if len(workflow_ids) == 1:
            by_workflow = {workflow_ids[0]: await mongo.find(COLLECTION, query, sort=sort, limit=wanted.limit)}
        else:
            by_workflow = await mongo.find_per_group(
                COLLECTION, query, group="workflow_id", sort=sort, skip=0, limit=wanted.limit
            )
        for key in group:
            pages[key] = by_workflow.get(key.workflow_id, [])
    return [pages[key] for key in keys]


async def _load_counts(mongo: TenantMongo, keys: Sequence[Count]) -> list[int]:
    counts: dict[Count, int] = {}
    for statuses, group in grouped(keys, lambda k: k.statuses).items():
        workflow_ids = sorted({k.workflow_id for k in group})
        rows = await mongo.aggregate(
            COLLECTION,
            [{"$match": _query(workflow_ids, statuses)}, {"$group": {"_id": "$workflow_id", "n": {"$sum": 1}}}],
        )
        found = {str(row["_id"]): int(row["n"]) for row in rows}
        for key in group:
            counts[key] = found.get(key.workflow_id, 0)
    return [counts[key] for key in keys]


def slices(ctx: RequestContext) -> DataLoader[Slice, list[Document]]:
    return DataLoader(partial(_load_slices, ctx.mongo))


def counts(ctx: RequestContext) -> DataLoader[Count, int]:
    return DataLoader(partial(_load_counts, ctx.mongo))


async def page_of_workflow(
    ctx: RequestContext, workflow_id: str, page: Page, *, statuses: Sequence[str] = ()
) -> Paged[Document]:
    """One workflow's runs, newest first; pages of sibling workflows share one query."""
    wanted = tuple(statuses)

    async def count() -> int:
        return await ctx.loader(counts).load(Count(workflow_id, wanted))

    async def fetch(sought: Seek) -> list[Keyed[Document]]:
        return keyed(await ctx.loader(slices).load(Slice(workflow_id, wanted, sought)), NEWEST_FIRST)

    return await paged("Workflow.executions", page, NEWEST_FIRST, count, fetch)
