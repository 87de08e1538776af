"""The log of actions run against the Brain store."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from aiodataloader import DataLoader

from gateway.context import RequestContext
from gateway.data.brain.sql import Where, loader_by_id, ordered, org_page, sort_key
from gateway.data.paging import Page, Paged
from gateway.data.rows import Row, columns
from gateway.stores.postgres import TenantReader


@dataclass(frozen=True, slots=True)
class ActionLogRow(Row):
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


async def page(
    pg: TenantReader, page: Page, *, action: str | None = None, status: str | None = None
) -> Paged[ActionLogRow]:
    """Actions, newest first."""
    where = Where(conditions=["organization_id = $1"])
    if action:
        where.add("action = {}", action)
    if status:
        where.add("status = {}", status)
    return await org_page(
        pg,
        key="Organization.actionLogs",
        select=f"{COLUMNS} FROM action_logs",
        where=where,
        ordering=ordered([sort_key("created_at", "t", descending=True)], "id"),
        build=ActionLogRow.of,
        page=page,
    )


def by_id(ctx: RequestContext) -> DataLoader[UUID, ActionLogRow | None]:
    return loader_by_id(ctx, "action_logs", COLUMNS, ActionLogRow.of)
