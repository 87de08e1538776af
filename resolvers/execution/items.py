"""What the runner does for rows and items: batched rows, items of pages written from rows, pages PostgreSQL writes.

Functions of a `runner.Run`, kept apart to keep the runner's level loop readable.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any, Protocol

import orjson
from graphql import Executor, GraphQLObjectType

from gateway.errors import GatewayError
from resolvers.execution.plan import Completion, FieldPlan, SelectionPlan

# Where a value goes in the response: `(parent, key, container, nullable, typename)` (see runner.py).
Position = tuple[Any, Any, Any, bool, str | None]
# A selection set due at the next level: its plan, the source object, its response dict and position.
Task = tuple[SelectionPlan, Any, dict[str, Any], Position | None]

log = logging.getLogger("omnify.graphql")

WRITTEN = object()  # `from_row`: the answer was written straight from the row


class Run(Protocol):
    """What these functions use of the runner's `Run` (runner.py calls them, so it sits above)."""

    executor: Executor[Any]
    alone: bool

    def field_arguments(self, field: FieldPlan) -> dict[str, Any] | Exception: ...

    def call_direct(self, field: FieldPlan, source: Any, position: Position | None) -> Any: ...

    def object_plan(
        self, field: FieldPlan, completion: Completion, object_type: GraphQLObjectType
    ) -> SelectionPlan: ...


class Answer:
    """A field's answer as response data already (written by PostgreSQL, see in_postgres.py)."""

    __slots__ = ("data",)

    def __init__(self, data: Any) -> None:
        self.data = data


async def in_postgres(run: Run, field: FieldPlan, source: Any, position: Position | None) -> Any:
    """The field's answer written by PostgreSQL (`Answer`), else what its resolver gives.

    The resolver runs instead when an argument would be refused or the store may not be
    read (it then raises the error it always raises), and when the statement answers
    that its text is not exactly the gateway's.
    """
    written = field.written
    alone = run.alone
    try:
        values = written.values(run.field_arguments)
        reader = run.executor.context_value.postgres
    except Exception:
        values = None
    if values is not None:
        try:
            # Its only statement: no snapshot to share. Should the resolver answer instead, its
            # statements share a snapshot of their own, and these rows are not used.
            fetch = reader.fetch_alone if alone else reader.fetch
            rows = await fetch(written.sql, reader.organization_id, *values)
            row = rows[0] if rows else None
        except GatewayError:
            raise  # the store is unavailable or saturated: the resolver's first statement would fail alike
        except Exception:
            # The statement failed where the resolver's would not have: a fault of the statement,
            # never the caller's. The resolver answers (on a fresh snapshot, as after any failed read).
            log.exception("a page PostgreSQL writes failed; answering from its rows")
            row = None
        if row is not None and row["exact"] is True:
            return Answer(orjson.loads(row["json"]))
    value = run.call_direct(field, source, position)
    return await value if inspect.isawaitable(value) else value


def defer_items(
    plan: SelectionPlan, later: list[Any], out: dict[str, Any], position: Position | None, tasks: list[Task]
) -> None:
    """Queue the items a compiled page wrote from rows, for their fields left to the general path.

    Each entry of `later` is (which of `plan.deferred`, index, edges list, edge dict, item
    dict, item object); the positions are those the general path would have given them.
    """
    tops: dict[int, Position] = {}
    for which, index, edges, edge, item, source in later:
        edges_field, item_field, rest = plan.deferred[which]
        top = tops.get(which)
        if top is None:
            nullable = edges_field.completion.nullable
            top = tops[which] = (position, edges_field.key, out, nullable, plan.type_name)
        item_nullable = edges_field.completion.item.nullable  # type: ignore[union-attr]
        at: Position = (
            (top, index, edges, item_nullable, None),
            item_field.key,
            edge,
            item_field.completion.nullable,
            item_field.parent_type.name,
        )
        tasks.append((rest, source, item, at))


def from_row(run: Run, field: FieldPlan, value: Any, out: dict[str, Any]) -> Any:
    """A batched field's row written as its answer (`WRITTEN`), or the object its row builder makes of it.

    The object (or the builder's exception) then completes as the resolver's value would.
    """
    if value is None or isinstance(value, Exception):
        return value
    completion = field.completion
    write = run.object_plan(field, completion, completion.type).from_source
    if write is not None:
        built: dict[str, Any] = {}
        if write(value, built):
            out[field.key] = built
            return WRITTEN
    assert field.batch_rows is not None
    try:
        return field.batch_rows(value)
    except Exception as exc:
        return exc
