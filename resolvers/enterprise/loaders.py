"""Batched reads of the enterprise store (and of Brain accounts for members).

Each loader exists once per request (`ctx.loader(factory)`) and answers all the
keys asked for during one tick with ONE query, so a nested GraphQL query costs
a number of round trips bounded by its depth, never by the size of its lists
(SPEC §7). Loaders hand back raw documents; `types.py` turns them into GraphQL
objects, which keeps this module free of schema imports.

All MongoDB access goes through `ctx.mongo`, which scopes every query to the
caller's organization: an id of another organization simply is not found.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from aiodataloader import DataLoader
from bson import ObjectId

from gateway.context import RequestContext
from gateway.errors import StoreUnavailable
from gateway.stores.mongo import Document, TenantMongo

log = logging.getLogger("omnify.enterprise")

Sort = list[tuple[str, int]]
ById = DataLoader[str, Document | None]

# `_id` breaks ties so that offset paging never skips or repeats a document.
# By creation: queued runs have no start time yet but are the newest.
NEWEST_EXECUTIONS_FIRST: Sort = [("created_at", -1), ("_id", -1)]

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


def grouped(items: Iterable[T], key: Callable[[T], K]) -> dict[K, list[T]]:
    """Items bucketed by `key`, keeping their order within each bucket."""
    groups: dict[K, list[T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return groups


# --- documents by id ---------------------------------------------------------------------


async def _load_by_ids(mongo: TenantMongo, collection: str, ids: list[str]) -> list[Document | None]:
    # Ids come from clients (node ids) as well as from documents: a malformed one
    # is simply not found rather than an error.
    object_ids = [ObjectId(raw) for raw in ids if ObjectId.is_valid(raw)]
    docs = await mongo.find(collection, {"_id": {"$in": object_ids}}) if object_ids else []
    by_id = {str(doc["_id"]): doc for doc in docs}
    return [by_id.get(raw) for raw in ids]


def _by_id(ctx: RequestContext, collection: str) -> ById:
    return DataLoader(partial(_load_by_ids, ctx.mongo, collection))


def subscription_loader(ctx: RequestContext) -> ById:
    return _by_id(ctx, "subscriptions")


def user_loader(ctx: RequestContext) -> ById:
    return _by_id(ctx, "users")


def agent_loader(ctx: RequestContext) -> ById:
    return _by_id(ctx, "agentkit_agents")


def workflow_loader(ctx: RequestContext) -> ById:
    return _by_id(ctx, "agentkit_workflows")


def execution_loader(ctx: RequestContext) -> ById:
    return _by_id(ctx, "agentkit_executions")


def schedule_loader(ctx: RequestContext) -> ById:
    return _by_id(ctx, "scheduled_workflows")


def audit_log_loader(ctx: RequestContext) -> ById:
    return _by_id(ctx, "audit_logs")


def compliance_check_loader(ctx: RequestContext) -> ById:
    return _by_id(ctx, "compliance_checks")


def analytics_point_loader(ctx: RequestContext) -> ById:
    return _by_id(ctx, "analytics_data")


def usage_quota_loader(ctx: RequestContext) -> ById:
    return _by_id(ctx, "usage_quotas")


def invitation_loader(ctx: RequestContext) -> ById:
    return _by_id(ctx, "team_invitations")


# --- a workflow's schedule -----------------------------------------------------------------


async def _load_schedules(mongo: TenantMongo, workflow_ids: list[str]) -> list[Document | None]:
    docs = await mongo.find("scheduled_workflows", {"workflow_id": {"$in": workflow_ids}}, sort=[("_id", 1)])
    # A workflow has at most one schedule; should there be more, the oldest wins, stably.
    first: dict[str, Document] = {}
    for doc in docs:
        first.setdefault(doc["workflow_id"], doc)
    return [first.get(workflow_id) for workflow_id in workflow_ids]


def schedule_by_workflow_loader(ctx: RequestContext) -> DataLoader[str, Document | None]:
    return DataLoader(partial(_load_schedules, ctx.mongo))


# --- a workflow's executions ---------------------------------------------------------------


@dataclass(frozen=True)
class ExecutionSlice:
    """One page of one workflow's executions, newest first."""

    workflow_id: str
    statuses: tuple[str, ...]  # empty: any status
    offset: int
    limit: int


@dataclass(frozen=True)
class ExecutionCount:
    """How many executions one workflow has, optionally only in some statuses."""

    workflow_id: str
    statuses: tuple[str, ...]  # empty: any status


def execution_query(workflow_ids: list[str] | None, statuses: tuple[str, ...]) -> Document:
    query: Document = {}
    if workflow_ids is not None:
        query["workflow_id"] = {"$in": workflow_ids}
    if statuses:
        query["status"] = {"$in": list(statuses)}
    return query


async def _load_execution_slices(mongo: TenantMongo, keys: list[ExecutionSlice]) -> list[list[Document]]:
    pages: dict[ExecutionSlice, list[Document]] = {}
    # One query per distinct status filter, which the query text fixes, not the data.
    for statuses, group in grouped((k for k in keys if k.limit > 0), lambda k: k.statuses).items():
        if len(group) == 1:
            key = group[0]
            pages[key] = await mongo.find(
                "agentkit_executions",
                execution_query([key.workflow_id], statuses),
                sort=NEWEST_EXECUTIONS_FIRST,
                skip=key.offset,
                limit=key.limit,
            )
            continue
        # find() cannot limit per workflow, so fetch the workflows' executions
        # together and page each one here.
        workflow_ids = sorted({k.workflow_id for k in group})
        docs = await mongo.find(
            "agentkit_executions", execution_query(workflow_ids, statuses), sort=NEWEST_EXECUTIONS_FIRST
        )
        by_workflow = grouped(docs, lambda doc: str(doc["workflow_id"]))
        for key in group:
            pages[key] = by_workflow.get(key.workflow_id, [])[key.offset : key.offset + key.limit]
    return [pages.get(key, []) for key in keys]


async def _load_execution_counts(mongo: TenantMongo, keys: list[ExecutionCount]) -> list[int]:
    counts: dict[ExecutionCount, int] = {}
    for statuses, group in grouped(keys, lambda k: k.statuses).items():
        workflow_ids = sorted({k.workflow_id for k in group})
        rows = await mongo.aggregate(
            "agentkit_executions",
            [
                {"$match": execution_query(workflow_ids, statuses)},
                {"$group": {"_id": "$workflow_id", "n": {"$sum": 1}}},
            ],
        )
        found = {str(row["_id"]): int(row["n"]) for row in rows}
        for key in group:
            counts[key] = found.get(key.workflow_id, 0)
    return [counts[key] for key in keys]


def execution_slice_loader(ctx: RequestContext) -> DataLoader[ExecutionSlice, list[Document]]:
    return DataLoader(partial(_load_execution_slices, ctx.mongo))


def execution_count_loader(ctx: RequestContext) -> DataLoader[ExecutionCount, int]:
    return DataLoader(partial(_load_execution_counts, ctx.mongo))


# --- Brain accounts, for members --------------------------------------------------------------


@dataclass(frozen=True)
class BrainUser:
    """A person's account in the Brain store (PostgreSQL `users`)."""

    email: str
    name: str | None
    role: str
    id: str


BRAIN_USER_COLUMNS = "email, name, role, id"


async def _load_brain_users(ctx: RequestContext, emails: list[str]) -> list[BrainUser | None]:
    if not ctx.has_brain:
        return [None] * len(emails)
    pg = ctx.postgres
    rows = await pg.fetch(
        f"SELECT {BRAIN_USER_COLUMNS} FROM users WHERE organization_id = $1 AND email = ANY($2::text[])",
        pg.organization_id,
        emails,
    )
    by_email = {row["email"]: BrainUser(row["email"], row["name"], row["role"], str(row["id"])) for row in rows}
    return [by_email.get(email) for email in emails]


def brain_user_loader(ctx: RequestContext) -> DataLoader[str, BrainUser | None]:
    """Brain accounts by e-mail; raises `StoreUnavailable` when PostgreSQL is down."""
    return DataLoader(partial(_load_brain_users, ctx))


async def brain_users(ctx: RequestContext, limit: int | None = None) -> list[BrainUser] | None:
    """The organization's Brain accounts ordered by e-mail, or None when PostgreSQL cannot answer.

    Ordered by code point (`COLLATE "C"`) like MongoDB and Python, so that the
    two stores' lists merge correctly.
    """
    if not ctx.has_brain:
        return []
    pg = ctx.postgres
    try:
        rows = await pg.fetch(
            f'SELECT {BRAIN_USER_COLUMNS} FROM users WHERE organization_id = $1 ORDER BY email COLLATE "C" LIMIT $2',
            pg.organization_id,
            limit,
        )
    except StoreUnavailable:
        # Members still list from MongoDB; their Brain fields read as unknown.
        log.warning("brain store unavailable; listing members from the enterprise store only")
        return None
    return [BrainUser(row["email"], row["name"], row["role"], str(row["id"])) for row in rows]
