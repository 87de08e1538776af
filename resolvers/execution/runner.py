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
import datetime as dt
import inspect
from collections import OrderedDict
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from graphql import (
    DocumentNode,
    ExecutionResult,
    Executor,
    GraphQLError,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationType,
    located_error,
)
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined, is_iterable
from graphql.pyutils import inspect as gql_inspect
from strawberry.types.info import Info

from resolvers.execution.items import WRITTEN, Answer, Position, Task, defer_items, from_row, in_postgres
from resolvers.execution.plan import (
    ATTRIBUTE,
    DIRECT,
    LEAF,
    LIST,
    OBJECT,
    TYPENAME,
    Allowance,
    Completion,
    FieldPlan,
    SelectionPlan,
    Unplannable,
)
from resolvers.execution.planning import DocumentPlan, object_plan
from resolvers.internals import TYPE_CAST_ATTRIBUTE, StrawberryGraphQLCoreExecutionContext, invalid_return_type_error

# Plans hold the schema's own types and resolvers, so they are kept per schema.
_documents: OrderedDict[tuple[GraphQLSchema, str, str | None], DocumentPlan | None] = OrderedDict()
MAX_DOCUMENTS = 512
# A plan and the document it holds take about 150 bytes per character of the text: the plans
# kept are bounded by the total length of their texts too (about 150 MB at most).
MAX_DOCUMENT_CHARS = 1_000_000
_kept_chars = [0]
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
_IMMUTABLE = (type(None), bool, int, float, str, Decimal, dt.date, dt.datetime, UUID, Enum)


def _immutable(value: Any) -> bool:
    """Whether a converted argument can be shared by requests (no list, dict or input object to change)."""
    return isinstance(value, _IMMUTABLE)


def document_plan(text: str, document: DocumentNode, executor: Executor[Any]) -> DocumentPlan | None:
    """The plan of this document's operation, or None when it is left to the standard executor."""
    key = (executor.schema, text, executor.operation.name.value if executor.operation.name else None)
    if key in _documents:
        _documents.move_to_end(key)
        return _documents[key]
    try:
        plan: DocumentPlan | None = DocumentPlan(document, executor.operation)
    except Unplannable:
        plan = None
    _documents[key] = plan
    _kept_chars[0] += len(text)
    while _documents and (len(_documents) > MAX_DOCUMENTS or _kept_chars[0] > MAX_DOCUMENT_CHARS):
        (_, dropped, _), _ = _documents.popitem(last=False)
        _kept_chars[0] -= len(dropped)
    return plan


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


def release(executor: Executor[Any]) -> None:
    """Break the reference cycle a graphql-core executor makes, once it has answered.

    It holds helpers bound to itself, a cycle through which the request's context
    (and everything it holds) outlived the request until a garbage collection.
    Without it a request's objects die by reference counting (see `gateway/core/runtime.py`).
    """
    vars(executor).pop("async_helpers", None)


class RequestExecutor(StrawberryGraphQLCoreExecutionContext):
    """strawberry's graphql-core executor, released once it has built its response (mutations, fallbacks)."""

    def build_response(self, data: dict[str, Any] | None) -> Any:
        try:
            return super().build_response(data)
        finally:
            release(self)


class LazyInfo(Info[Any, Any]):
    """strawberry's `Info` whose graphql-core resolve info (and path) is built on first use.

    Most resolvers only read `info.context`, and building the resolve info of
    every call on a large page (a path per object) was a sizable share of it.
    """

    def __init__(self, run: Run, field: FieldPlan, position: Position | None, strawberry_field: Any) -> None:
        self._run = run
        self._plan = field
        self._position = position
        self._field = strawberry_field
        self._built: GraphQLResolveInfo[Any] | None = None

    @property
    def _raw_info(self) -> GraphQLResolveInfo[Any]:  # type: ignore[override]
        if self._built is None:
            self._built = self._run.info(self._plan, self._position)
        return self._built

    @property
    def context(self) -> Any:
        return self._run.executor.context_value

    def row_fields(self) -> frozenset[str] | None:
        """The row fields this field's value is read by, when it is a connection written from rows."""
        completion = self._plan.completion
        if completion.kind != OBJECT:
            return None
        return self._run.object_plan(self._plan, completion, completion.type).row_fields


class Run:
    """The state of one planned execution."""

    def __init__(self, executor: Executor[Any], allowance: Allowance) -> None:
        self.executor = executor
        self.allowance = allowance
        self.schema = executor.schema
        self.errors: list[GraphQLError] = []
        self.arguments: dict[int, dict[str, Any] | Exception] = {}
        self.converted: dict[int, dict[str, Any] | Exception] = {}
        # Positions set to null by an error, kept alive so their ids stay unique.
        self.nulled: dict[tuple[int, Any], Any] = {}
        self.data_nulled = False
        self.type_infos: dict[int, GraphQLResolveInfo[Any]] = {}
        self.paths: dict[int, tuple[Position, Path]] = {}

    async def execute(self, root: SelectionPlan, root_value: Any) -> dict[str, Any] | None:
        data: dict[str, Any] = {}
        tasks: list[Task] = [(root, root_value, data, None)]
        while tasks and not self.data_nulled:
            tasks = await self.level(tasks)
        return None if self.data_nulled else data

    async def level(self, tasks: list[Task]) -> list[Task]:
        next_tasks: list[Task] = []
        pending: list[tuple[Any, FieldPlan, dict[str, Any], Position | None]] = []
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
        for field, sources, slot in batches.values():
            call = self.call_batch(field, sources, pending[slot][3])
            _, _, out, position = pending[slot]
            pending[slot] = (call if _isawaitable(call) else _ready(call), field, out, position)
        if pending:
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

    def object_plan(self, field: FieldPlan, completion: Completion, object_type: GraphQLObjectType) -> SelectionPlan:
        """The selection plan of `field`'s values of `object_type`, planned on first use."""
        plan = completion.plans.get(object_type.name)
        if plan is None:
            executor = self.executor
            plan = object_plan(
                self.schema,
                executor.fragments,
                executor.variable_values,
                executor.operation,
                field,
                completion,
                object_type,
                self.allowance,
            )
        return plan

    def call_direct(self, field: FieldPlan, source: Any, position: Position | None) -> Any:
        """Call a strawberry resolver as its wrapper would; an exception comes back as the value."""
        call = field.call
        assert call is not None
        try:
            kwargs = self.keyword_arguments(field, position)
            for name in call.source_names:
                kwargs[name] = source
            return call.resolver(source, **kwargs) if call.pass_self else call.resolver(**kwargs)
        except Exception as exc:
            return exc

    def call_batch(self, field: FieldPlan, sources: list[Any], position: Position | None) -> Any:
        """Call a field's batch for the objects of a level (one info, that of the first object)."""
        assert field.batch is not None
        try:
            return field.batch(sources, **self.keyword_arguments(field, position))
        except Exception as exc:
            return exc

    def keyword_arguments(self, field: FieldPlan, position: Position | None) -> dict[str, Any]:
        """A resolver's arguments converted as strawberry's wrapper converts them (once per field), and its info."""
        call = field.call
        assert call is not None
        converted = self.converted.get(id(field))
        if converted is None:
            converted = call.literal
        if converted is None:
            raw_info = self.info(field, position)
            args = field.args if field.args is not None else self.field_arguments(field)
            try:
                if isinstance(args, Exception):
                    raise args
                converted = call.convert(args, call.info_class(_raw_info=raw_info, _field=call.field))
            except Exception as exc:
                converted = exc
            if field.args is not None and isinstance(converted, dict) and all(map(_immutable, converted.values())):
                # Literal arguments of immutable values convert alike in every request: kept with the plan.
                call.literal = converted
            self.converted[id(field)] = converted
        if isinstance(converted, Exception):
            raise converted
        kwargs = dict(converted)
        if call.info_name is not None:
            if call.info_class is Info:
                kwargs[call.info_name] = LazyInfo(self, field, position, call.field)
            else:
                kwargs[call.info_name] = call.info_class(_raw_info=self.info(field, position), _field=call.field)
        return kwargs

    def field_arguments(self, field: FieldPlan) -> dict[str, Any] | Exception:
        found = self.arguments.get(id(field))
        if found is None:
            try:
                found = get_argument_values(field.definition, field.nodes[0], self.executor.variable_values)  # type: ignore[arg-type]
            except GraphQLError as exc:
                found = exc
            self.arguments[id(field)] = found
        return found

    def info(self, field: FieldPlan, parent: Position | None) -> GraphQLResolveInfo[Any]:
        """graphql-core's resolve info for `field` on the object at `parent`."""
        path = Path(self.path(parent), field.key, field.parent_type.name)
        assert field.definition is not None
        return self.executor.build_resolve_info(field.definition, field.nodes, field.parent_type, path)

    def type_info(self, field: FieldPlan, position: Position) -> GraphQLResolveInfo[Any]:
        """The info given to `is_type_of`/`resolve_type`: the field's, built once per field.

        Those functions read the schema and the field's name, never the path, so
        the path of the first value checked stands for all of them.
        """
        info = self.type_infos.get(id(field))
        if info is None:
            while position[4] is None:  # up from list items to the field's own position
                position = position[0]
            info = self.type_infos[id(field)] = self.info(field, position[0])
        return info

    def path(self, position: Position | None) -> Path | None:
        """graphql-core's path of a position, built once per position (siblings share their parents')."""
        if position is None:
            return None
        cached = self.paths.get(id(position))
        if cached is not None and cached[0] is position:
            return cached[1]
        path = Path(self.path(position[0]), position[1], position[4])
        self.paths[id(position)] = (position, path)  # the position is kept, so its id stays its own
        return path

    def fail(self, raw: Exception, field: FieldPlan, position: Position) -> None:
        """Record a field error at `position` and null the nearest nullable position."""
        path = self.path(position)
        error = located_error(raw, field.nodes, path.as_list() if path else None)
        target: Position | None = position
        while target is not None and not target[3]:
            target = target[0]
        if self.nulled and self.is_nulled(target):
            return
        if target is None:
            self.data_nulled = True
            self.nulled[(0, None)] = None
        else:
            container = target[2]
            container[target[1]] = None
            self.nulled[(id(container), target[1])] = container
        self.errors.append(error)

    def is_nulled(self, position: Position | None) -> bool:
        if self.data_nulled:
            return True
        nulled = self.nulled
        while position is not None:
            if (id(position[2]), position[1]) in nulled:
                return True
            position = position[0]
        return False
