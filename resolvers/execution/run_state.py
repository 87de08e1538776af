"""The state of one planned execution that its level loop reads and writes through.

The arguments, resolve infos and paths a run builds once per field or position,
calls of strawberry resolvers and batches, and the positions nulled by errors
(null propagation as the runner's docstring describes it).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from graphql import Executor, GraphQLError, GraphQLObjectType, GraphQLResolveInfo, located_error
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path
from strawberry.types.info import Info

from resolvers.execution.items import Position
from resolvers.execution.plan import OBJECT, Allowance, Completion, FieldPlan, SelectionPlan
from resolvers.execution.planning import object_plan

_IMMUTABLE = (type(None), bool, int, float, str, Decimal, dt.date, dt.datetime, UUID, Enum)


def _immutable(value: Any) -> bool:
    """Whether a converted argument can be shared by requests (no list, dict or input object to change)."""
    return isinstance(value, _IMMUTABLE)


class LazyInfo(Info[Any, Any]):
    """strawberry's `Info` whose graphql-core resolve info (and path) is built on first use.

    Most resolvers only read `info.context`, and building the resolve info of
    every call on a large page (a path per object) was a sizable share of it.
    """

    def __init__(self, run: RunState, field: FieldPlan, position: Position | None, strawberry_field: Any) -> None:
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


class RunState:
    """The state of one planned execution; `runner.Run` walks its levels."""

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
        # The level being settled reads PostgreSQL with one page it writes and nothing else, and
        # leaves no level after it: that statement is the request's only one (`TenantReader.fetch_alone`).
        self.alone = False

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
