"""An object's own action history: `Campaign.actionLogs`, `Creative.actionLogs`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated
from uuid import UUID

import strawberry
from strawberry import Info

from gateway.core.context import RequestContext
from gateway.data.brain import action_logs
from gateway.data.paging import Page
from resolvers.brain.record_lists import ActionLogFilter, ActionLogOrder, action_log_filter
from resolvers.brain.records import ActionLog
from resolvers.common.filters import sorts
from resolvers.common.objects import row_fields
from resolvers.common.relay import Connection

ACTION_LOGS = "Actions run on this {}, as `Organization.actionLogs` lists them; newest first by default."
Filter = Annotated[ActionLogFilter | None, strawberry.argument(description="Narrow the list.")]
Order = Annotated[list[ActionLogOrder] | None, strawberry.argument(description="Sort keys in turn.")]


async def action_logs_of(
    info: Info[RequestContext, None],
    type_name: str,
    raw_ids: Sequence[UUID],
    page: tuple[int | None, str | None, int | None, str | None],
    filter: ActionLogFilter | None,
    order_by: list[ActionLogOrder] | None,
) -> list[Connection[ActionLog]]:
    """A page of each object's logged actions: one statement for all the objects of a level (one more to count)."""
    first, after, last, before = page
    pages = await action_logs.pages_of_targets(
        info.context,
        type_name,
        raw_ids,
        Page(first, after, last, before, row_fields(info)),
        action_log_filter(filter),
        sorts(order_by),
    )
    return [Connection.of(rows, ActionLog.from_row) for rows in pages]
