"""Runs a planned query level by level and builds the response dicts directly.

Each level is the list of objects whose selection sets are due: every field of
every object is read (attributes directly, resolvers as graphql-core calls
them), all awaitables of the level are gathered at once (so a dataloader sees
the whole level in one batch), and object values become the next level.

Null propagation follows graphql-core: an error nulls the nearest nullable
position at or above where it happened (the whole `data` when there is none),
and errors below an already nulled position are dropped. A position is a
tuple `(parent, key, container, nullable, typename)`; `parent` is the position
of the enclosing object or list, `None` at the root.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    Executor,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    OperationType,
)
from graphql.pyutils import Undefined, is_iterable
from graphql.pyutils import inspect as gql_inspect

from resolvers.execution.documents import document_plan, release
from resolvers.execution.items import WRITTEN, Answer, Position, Task, defer_items, from_row, in_postgres
from resolvers.execution.plan import (
    ATTRIBUTE,
    DIRECT,
    LEAF,
    LIST,
    OBJECT,
    TYPENAME,
    Completion,
    FieldPlan,
    SelectionPlan,
    Unplannable,
)
from resolvers.execution.run_state import RunState
from resolvers.internals import TYPE_CAST_ATTRIBUTE, invalid_return_type_error

_LATER = object()  # in `Run.level`'s pending list: the value of a batched field's call made for an earlier entry


async def _ready(value: Any) -> Any:
    return value


def _one_per_source(result: Any, count: int) -> list[Any]:
    """A batch's values, last first (they are popped in order); its exception for every object when it failed."""
    if isinstance(result, list) and len(result) == count:
        return result[::-1]
    failure = result if isinstance(result, Exception) else TypeError(f"a batch answered {count} objects wrongly")
    return [failure] * count


_isawaitable = inspect.isawaitable
# A call of the level awaited with the others: (awaitable, field, container of its value, position of the object).
Pending = tuple[Any, FieldPlan, dict[str, Any], Position | None]


async def execute_planned(
    schema: GraphQLSchema,
    text: str,
    document: DocumentNode,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    context: Any,
    root_value: Any = None,
    executor_class: type[Executor[Any]] = Executor,
    **executor_args: Any,
) -> ExecutionResult | None:
    """Execute a query (`text`, parsed as `document`) through its plan, cached by the text.

    Returns None when the standard executor must run it instead.

    `executor_class` and `executor_args` are what the standard path builds its
    executor with (strawberry's, for the resolve info its resolvers get); the
    executor here only coerces variables and builds resolve infos.
    """
    built = executor_class.build(schema, document, root_value, context, variables, operation_name, **executor_args)
    if isinstance(built, list):
        return None  # bad variables or operation name: the standard executor reports them
    operation = built.operation
    if operation.operation is not OperationType.QUERY or operation.directives:
        return None
    plan = document_plan(text, document, built)
    if plan is None or schema.query_type is None:
        return None
    try:
        root = plan.root(schema, built.fragments, built.variable_values, schema.query_type)
    except Unplannable:
        return None
    run = Run(built, plan.allowance)
    try:
        data = await run.execute(root, root_value)
    finally:
        release(built)
    return ExecutionResult(data, run.errors or None)


class Run(RunState):
    """One planned execution, run level by level."""

    async def execute(self, root: SelectionPlan, root_value: Any) -> dict[str, Any] | None:
        data: dict[str, Any] = {}
        tasks: list[Task] = [(root, root_value, data, None)]
        while tasks and not self.data_nulled:
            tasks = await self.level(tasks)
        return None if self.data_nulled else data

    async def level(self, tasks: list[Task]) -> list[Task]:
        next_tasks: list[Task] = []
        pending: list[Pending] = []
        # Batched fields: per field, the objects selecting it and the index of its call in `pending`.
        batches: dict[int, tuple[FieldPlan, list[Any], int]] = {}
        complete = self.complete
        later: list[Any] = []  # items of pages written from rows, with fields left to the general path
        for plan, source, out, position in tasks:
            if self.nulled and self.is_nulled(position):
                continue
            fast = plan.fast
            if fast is None:
                fields = plan.fields
            elif fast(source, out, later):
                fields = plan.general
                if later:
                    defer_items(plan, later, out, position, next_tasks)
                    later.clear()
            else:
                out.clear()
                later.clear()
                fields = plan.fields
            for field in fields:
                kind = field.kind
                if kind == ATTRIBUTE:
                    try:
                        value = getattr(source, field.attribute)
                    except Exception as exc:
                        value = exc
                    completion = field.completion
                    if completion.kind == LEAF and value is not None:
                        if type(value) is completion.identity:
                            out[field.key] = value
                            continue
                        if completion.memo is not None and value.__class__.__hash__ is not None:
                            coerced = completion.memo.get(value)
                            if coerced is not None:
                                out[field.key] = coerced
                                continue
                    complete(completion, value, out, field.key, position, plan.type_name, field, next_tasks)
                elif kind == TYPENAME:
                    out[field.key] = plan.type_name
                elif kind == DIRECT:
                    if field.written is not None:
                        out[field.key] = None  # keeps the key in selection order
                        pending.append((in_postgres(self, field, source, position), field, out, position))
                        continue
                    if field.batch is not None:
                        # One call for the level, made below; each object keeps its place in
                        # `pending`, so results complete in the order graphql-core would start them.
                        out[field.key] = None  # keeps the key in selection order
                        group = batches.get(id(field))
                        if group is None:
                            batches[id(field)] = (field, [source], len(pending))
                            pending.append((None, field, out, position))
                        else:
                            group[1].append(source)
                            pending.append((_LATER, field, out, position))
                        continue
                    value = self.call_direct(field, source, position)
                    if _isawaitable(value):
                        out[field.key] = None  # keeps the key in selection order
                        pending.append((value, field, out, position))
                    else:
                        complete(field.completion, value, out, field.key, position, plan.type_name, field, next_tasks)
                else:
                    try:
                        args = field.args if field.args is not None else self.field_arguments(field)
                        if isinstance(args, Exception):
                            raise args
                        value = field.resolve(source, self.info(field, position), **args)
                    except Exception as exc:
                        value = exc
                    if _isawaitable(value):
                        out[field.key] = None  # keeps the key in selection order
                        pending.append((value, field, out, position))
                    else:
                        complete(field.completion, value, out, field.key, position, plan.type_name, field, next_tasks)
        return await self.settle(pending, batches, next_tasks) if pending else next_tasks

    async def settle(
        self,
        pending: list[Pending],
        batches: dict[int, tuple[FieldPlan, list[Any], int]],
        next_tasks: list[Task],
    ) -> list[Task]:
        """Make the level's batch calls, await all its calls at once and complete their values in order."""
        complete = self.complete
        # Read by a page PostgreSQL writes when it starts (below, in the gather).
        self.alone = len(pending) == 1 and not next_tasks and not batches and pending[0][1].written is not None
        for field, sources, slot in batches.values():
            call = self.call_batch(field, sources, pending[slot][3])
            _, _, out, position = pending[slot]
            pending[slot] = (call if _isawaitable(call) else _ready(call), field, out, position)
        results = iter(await asyncio.gather(*(p[0] for p in pending if p[0] is not _LATER), return_exceptions=True))
        batched: dict[int, list[Any]] = {}  # per batched field, its values still to complete, last first
        for awaitable, field, out, position in pending:
            if awaitable is _LATER:
                value = batched[id(field)].pop()
            else:
                value = next(results)
                if isinstance(value, BaseException) and not isinstance(value, Exception):
                    raise value
                if field.batch is not None:
                    batched[id(field)] = _one_per_source(value, len(batches[id(field)][1]))
                    value = batched[id(field)].pop()
            if self.nulled and self.is_nulled(position):
                continue
            if value.__class__ is Answer:
                out[field.key] = value.data
                continue
            if field.batch_rows is not None:
                value = from_row(self, field, value, out)
                if value is WRITTEN:
                    continue
            complete(field.completion, value, out, field.key, position, field.parent_type.name, field, next_tasks)
        return next_tasks

    def complete(
        self,
        completion: Completion,
        value: Any,
        container: Any,
        key: Any,
        parent: Position | None,
        typename: str | None,
        field: FieldPlan,
        next_tasks: list[Task],
    ) -> None:
        """Write the completed `value` at `container[key]`, queueing object values for the next level."""
        if value is None or value is Undefined:
            if completion.nullable:
                container[key] = None
            else:
                message = f"Cannot return null for non-nullable field {field.parent_type.name}.{field.name}."
                self.fail(TypeError(message), field, (parent, key, container, False, typename))
            return
        kind = completion.kind
        if kind == LEAF:
            if isinstance(value, Exception):
                self.fail(value, field, (parent, key, container, completion.nullable, typename))
                return
            try:
                coerced = completion.coerce(value)
                if coerced is None or coerced is Undefined:
                    raise TypeError(
                        f"Expected `{gql_inspect(completion.type)}.coerce_output_value({gql_inspect(value)})`"
                        f" to return non-nullable value, returned: {gql_inspect(coerced)}"
                    )
            except Exception as exc:
                self.fail(exc, field, (parent, key, container, completion.nullable, typename))
                return
            container[key] = coerced
            if completion.memo is not None and value.__class__.__hash__ is not None:
                completion.memo[value] = coerced
            return
        position: Position = (parent, key, container, completion.nullable, typename)
        if isinstance(value, Exception):
            self.fail(value, field, position)
            return
        if kind == OBJECT:
            self.complete_object(completion.type, completion, value, container, key, position, field, next_tasks)
        elif kind == LIST:
            if not is_iterable(value):
                message = f"Expected Iterable, but did not find one for field '{field.parent_type.name}.{field.name}'."
                self.fail(GraphQLError(message), field, position)
                return
            items: list[Any] = []
            container[key] = items
            item = completion.item
            assert item is not None
            if item.kind == OBJECT and item.type.is_type_of is None and item.type.name in item.plans:
                # The common list of plain objects (edges): built at once when the compiled
                # selection can do it alone, else queued directly; the rest as usual.
                plan = item.plans[item.type.name]
                fast = plan.fast if not plan.general else None
                for index, element in enumerate(value):
                    if element is None or isinstance(element, Exception):
                        items.append(None)
                        self.complete(item, element, items, index, position, None, field, next_tasks)
                        continue
                    out: dict[str, Any] = {}
                    items.append(out)
                    if fast is None or not fast(element, out):
                        out.clear()
                        next_tasks.append((plan, element, out, (position, index, items, item.nullable, None)))
                return
            for index, element in enumerate(value):
                items.append(None)
                self.complete(item, element, items, index, position, None, field, next_tasks)
        else:
            self.complete_abstract(completion, value, container, key, position, field, next_tasks)

    def complete_abstract(
        self,
        completion: Completion,
        value: Any,
        container: Any,
        key: Any,
        position: Position,
        field: FieldPlan,
        next_tasks: list[Task],
    ) -> None:
        """Complete a value of an interface or union as the object type it resolves to."""
        try:
            info = self.type_info(field, position)
            abstract = completion.type
            resolve_type = abstract.resolve_type or self.executor.type_resolver
            name = resolve_type(value, info, abstract)
            if _isawaitable(name):
                raise TypeError("asynchronous resolve_type is not supported by the planned executor")
            runtime = self.executor.ensure_valid_runtime_type(name, abstract, field.details, info, value)
        except Exception as exc:
            self.fail(exc, field, position)
            return
        self.complete_object(runtime, completion, value, container, key, position, field, next_tasks)

    def complete_object(
        self,
        object_type: GraphQLObjectType,
        completion: Completion,
        value: Any,
        container: Any,
        key: Any,
        position: Position,
        field: FieldPlan,
        next_tasks: list[Task],
    ) -> None:
        plan = self.object_plan(field, completion, object_type)
        is_type_of = object_type.is_type_of
        # strawberry's `is_type_of` passes an instance of the type's own class (unless cast).
        if is_type_of is not None and (
            value.__class__ is not plan.exact_class or getattr(value, TYPE_CAST_ATTRIBUTE, None) is not None
        ):
            try:
                matches = is_type_of(value, self.type_info(field, position))
                if _isawaitable(matches):
                    raise TypeError("asynchronous is_type_of is not supported by the planned executor")
                if not matches:
                    raise invalid_return_type_error(object_type, value, field.details)
            except Exception as exc:
                self.fail(exc, field, position)
                return
        out: dict[str, Any] = {}
        container[key] = out
        if plan.fast is not None and not plan.general and plan.fast(value, out):
            return
        out.clear()
        next_tasks.append((plan, value, out, position))
