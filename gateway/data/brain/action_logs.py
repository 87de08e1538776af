"""The log of actions run against the Brain store."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from uuid import UUID

from aiodataloader import DataLoader

from gateway.core.context import RequestContext
from gateway.data.brain.child_pages import ChildQuery, PageKey, child_counts, child_pages, child_pages_of
from gateway.data.brain.sql import Sortable, Where, loader_by_id, ordering_of, org_page
from gateway.data.filters import Sort, TimeRange
from gateway.data.paging import Keyed, Page, Paged
from gateway.data.rows import columns, row_of
from gateway.stores.postgres import TenantConnection, TenantReader


class ActionLogRow(NamedTuple):
    id: UUID
    actor_kind: str
    actor_id: str
    action: str
    target_type: str
    target_id: str
    payload: Any
    result: Any
    status: str
    created_at: dt.datetime


COLUMNS = columns(ActionLogRow)


@dataclass(frozen=True)
class ActionLogFilter:
    actions: Sequence[str] = ()
    target_types: Sequence[str] = ()
    statuses: Sequence[str] = ()
    actor_kinds: Sequence[str] = ()
    created_at: TimeRange | None = None


SORTABLE = {
    "created_at": Sortable("t.created_at", "t"),
    "action": Sortable("t.action", "s"),
    "status": Sortable("t.status", "s"),
}
NEWEST_FIRST = (Sort("created_at", descending=True),)


def _where(flt: ActionLogFilter, first: int = 2) -> Where:
    where = Where(first)
    where.any_of("t.action", flt.actions)
    where.any_of("t.target_type", flt.target_types)
    where.any_of("t.status", flt.statuses)
    where.any_of("t.actor_kind", flt.actor_kinds)
    where.within("t.created_at", flt.created_at)
    return where


async def page(
    pg: TenantReader, page: Page, flt: ActionLogFilter, sorts: Sequence[Sort] = NEWEST_FIRST
) -> Paged[ActionLogRow]:
    """Actions, newest first unless told otherwise."""
    return await _page(pg, "Organization.actionLogs", page, _where(flt).of_organization(), sorts)


def _pages_of_targets(ctx: RequestContext) -> DataLoader[PageKey, list[Keyed[ActionLogRow]]]:
    return child_pages(ctx, "action_logs", ActionLogRow, "target_id", by_text=True)


def _counts_of_targets(ctx: RequestContext) -> DataLoader[PageKey, dict[str, int]]:
    return child_counts(ctx, "action_logs", "target_id", by_text=True)


async def pages_of_targets(
    ctx: RequestContext,
    target_type: str,
    target_ids: Sequence[UUID],
    page: Page,
    flt: ActionLogFilter,
    sorts: Sequence[Sort] = NEWEST_FIRST,
) -> list[Paged[ActionLogRow]]:
    """The actions run on each of some objects of one type (`Campaign`, ...): one statement for all of them."""
    where = _where(flt, 3)
    where.add("t.target_type = {}", target_type)
    return await child_pages_of(
        ctx,
        key=f"{target_type}.actionLogs",
        parents=target_ids,
        pages=_pages_of_targets,
        counts=_counts_of_targets,
        query=ChildQuery.of(where),
        ordering=ordering_of(sorts or NEWEST_FIRST, SORTABLE),
        page=page,
    )


async def _page(pg: TenantReader, key: str, page: Page, where: Where, sorts: Sequence[Sort]) -> Paged[ActionLogRow]:
    return await org_page(
        pg,
        key=key,
        row_type=ActionLogRow,
        tables="action_logs t",
        where=where,
        ordering=ordering_of(sorts or NEWEST_FIRST, SORTABLE),
        page=page,
    )


def by_id(ctx: RequestContext) -> DataLoader[UUID, ActionLogRow | None]:
    return loader_by_id(ctx, "action_logs", COLUMNS, row_of(ActionLogRow))


# --- writes (inside a mutation's transaction) ---------------------------------------------


@dataclass
class ActionLogEntry:
    """What an action did, as its log row records it."""

    action: str
    target_type: str
    target_id: str
    payload: dict[str, Any]
    result: dict[str, Any]


async def record(
    tx: TenantConnection, actor_kind: str, actor_id: str, entry: ActionLogEntry, idempotency_key: str | None
) -> Any:
    """The action's log row, written in the action's transaction (so it exists exactly when the action does)."""
    return await tx.fetchrow(
        "INSERT INTO action_logs (organization_id, actor_kind, actor_id, action, target_type, target_id, "
        "payload, result, status, idempotency_key) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'succeeded', $9) RETURNING *",
        tx.organization_id,
        actor_kind,
        actor_id,
        entry.action,
        entry.target_type,
        entry.target_id,
        entry.payload,
        entry.result,
        idempotency_key,
    )


async def record_many(
    tx: TenantConnection,
    actor_kind: str,
    actor_id: str,
    entries: Sequence[ActionLogEntry],
    idempotency_key: str | None,
) -> list[Any]:
    """`record` for several actions of one mutation, in one statement; rows in the order of `entries`."""
    rows = await tx.fetch(
        "INSERT INTO action_logs (organization_id, actor_kind, actor_id, action, target_type, target_id, "
        "payload, result, status, idempotency_key) "
        "SELECT $1, $2, $3, e.action, e.target_type, e.target_id, e.payload::jsonb, e.result::jsonb, 'succeeded', $4 "
        "FROM unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::text[]) "
        "AS e(action, target_type, target_id, payload, result) RETURNING *",
        tx.organization_id,
        actor_kind,
        actor_id,
        idempotency_key,
        [e.action for e in entries],
        [e.target_type for e in entries],
        [e.target_id for e in entries],
        [json.dumps(e.payload) for e in entries],
        [json.dumps(e.result) for e in entries],
    )
    # RETURNING promises no order: put the rows back in the entries' (one entry per action and target).
    by_target = {(r["action"], r["target_type"], r["target_id"]): r for r in rows}
    return [by_target[(e.action, e.target_type, e.target_id)] for e in entries]
