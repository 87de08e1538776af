"""Pages whose whole selection PostgreSQL writes as JSON text, in one statement.

A connection field declared with `written_in_postgres` (the organization's campaigns, a
campaign's creatives, ...) whose selection, all the way down, reads only what a statement
can write — mapped row fields, Money, global ids, enums, child pages and per-object totals
declared the same way, `__typename` — is compiled once with the plan into one statement
with lateral joins (`gateway.data.brain.json_text`). The runner sends it instead of calling
the resolver, parses the JSON text it answers and puts it in the response.

It is an optimisation that must never show: the statement also answers whether its text is
exactly what the gateway would write; when it is not, or when an argument would be refused
(a page size beyond the limit, a reversed range) or the principal may not read the store,
the runner calls the resolver as always, which gives the same answer or raises the same
error. Anything else (filters, orderings, cursors, counts, `pageInfo`, dates, JSON, fields
with resolvers of their own) is not compiled: the field runs on the general path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLObjectType

from gateway.data.brain import json_text
from gateway.data.brain.json_text import Json, PageSource, TotalsSource
from gateway.data.brain.metrics import check_range
from gateway.data.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from resolvers.common.objects import Derived, composition, in_postgres, reader_members, row_mapping
from resolvers.common.relay import CONNECTION_EDGES, id_type
from resolvers.common.scalars import TEXT_SERIALIZERS
from resolvers.execution.plan import ATTRIBUTE, DIRECT, LEAF, OBJECT, TYPENAME, Completion, FieldPlan, SelectionPlan
from resolvers.internals import strawberry_definition

SubPlan = Callable[[FieldPlan, Completion, GraphQLObjectType], SelectionPlan]
_LEAVES = {"String": json_text.string, "ID": json_text.string, "Int": json_text.integer}
_LEAVES |= {"Float": json_text.floating, "Boolean": json_text.boolean}


# Benchmarks turn it off (before plans are made) to compare the two designs; nothing else does.
ENABLED = True


class NotCovered(Exception):
    """The selection reads something the statement cannot write."""


@dataclass(frozen=True)
class Param:
    """A statement parameter: argument `name` of `field`, a page size (`first`) or a day (`from`/`to`)."""

    field: FieldPlan
    name: str


@dataclass(frozen=True)
class Written:
    """The statement of one field: $1 is the organization, then `params`; `ranges` pair day parameters."""

    sql: str
    params: tuple[Param, ...]
    ranges: tuple[tuple[int, int], ...]

    def values(self, arguments: Callable[[FieldPlan], dict[str, Any] | Exception]) -> list[Any]:
        """The parameters' values; ValueError (or the argument's own error) when the resolver would refuse one."""
        values: list[Any] = []
        for param in self.params:
            found = arguments(param.field)
            if isinstance(found, Exception):
                raise found
            value = found.get(param.name)
            if param.name == "first":
                value = DEFAULT_PAGE_SIZE if value is None else value
                if not (isinstance(value, int) and 0 <= value <= MAX_PAGE_SIZE):
                    raise ValueError("a page size the resolver refuses")
            values.append(value)
        for start, end in self.ranges:
            check_range(values[start], values[end])
        return values


def compile_field(field: FieldPlan, subplan: SubPlan) -> Written | None:
    """The statement writing `field`'s whole answer, or None when its selection is not covered."""
    call = field.call
    source = in_postgres(call.resolver) if call is not None and ENABLED else None
    if not isinstance(source, PageSource) or source.parent:
        return None
    compiler = _Compiler(subplan)
    try:
        value, subquery = compiler.page(field, source, "", json_text.STATEMENT_ALIAS)
    except NotCovered:
        return None
    return Written(json_text.statement(value, subquery), tuple(compiler.params), tuple(compiler.ranges))


class _Compiler:
    def __init__(self, subplan: SubPlan) -> None:
        self.subplan = subplan
        self.params: list[Param] = []
        self.ranges: list[tuple[int, int]] = []
        self.aliases = 0

    def param(self, field: FieldPlan, name: str) -> str:
        self.params.append(Param(field, name))
        return f"${len(self.params) + 1}"  # $1 is the organization

    def alias(self, prefix: str) -> str:
        self.aliases += 1
        return f"{prefix}{self.aliases}"

    def plan(self, field: FieldPlan, completion: Completion | None = None) -> SelectionPlan:
        completion = completion or field.completion
        if completion.kind != OBJECT:
            raise NotCovered
        return self.subplan(field, completion, completion.type)

    def arguments(self, field: FieldPlan, allowed: set[str]) -> None:
        # Merged fields of one response key have the same arguments (validation sees to it).
        if not {argument.name.value for argument in field.nodes[0].arguments or ()} <= allowed:
            raise NotCovered

    def page(self, field: FieldPlan, source: PageSource, parent_id: str, page: str) -> tuple[Json, str]:
        """(the connection's JSON over the columns of the page subquery aliased `page`, that subquery)."""
        self.arguments(field, {"first"})
        limit = self.param(field, "first")
        connection = self.plan(field)
        rows = self.alias("t")
        edges: list[Json] = []
        entries: list[tuple[str, Json]] = []
        joins: list[str] = []
        for f in connection.fields:
            if f.kind == TYPENAME:
                entries.append((f.key, json_text.typename(connection.type_name)))
            elif f.kind == DIRECT and f.call is not None and f.call.resolver is CONNECTION_EDGES and not f.args:
                edges.append(self.edge(f, rows, joins))
                entries.append((f.key, json_text.edges_of(page, len(edges) - 1)))
            else:
                raise NotCovered
        if not edges:
            raise NotCovered
        return json_text.obj(entries), json_text.page(source, rows, limit, edges, " ".join(joins), parent_id)

    def edge(self, field: FieldPlan, rows: str, joins: list[str]) -> Json:
        item = field.completion.item
        if item is None or item.kind != OBJECT:
            raise NotCovered
        edge = self.plan(field, item)
        entries: list[tuple[str, Json]] = []
        for f in edge.fields:
            if f.kind == TYPENAME:
                entries.append((f.key, json_text.typename(edge.type_name)))
            elif f.kind == ATTRIBUTE and f.attribute == "node":
                entries.append((f.key, self.item(f, rows, joins)))
            else:
                raise NotCovered
        return json_text.obj(entries)

    def item(self, field: FieldPlan, rows: str, joins: list[str]) -> Json:
        """A page's item written from its row `rows`, child pages and totals joined laterally."""
        plan = self.plan(field)
        mapping = row_mapping(_origin(plan.type))
        if mapping is None or not mapping.rows:
            raise NotCovered
        entries: list[tuple[str, Json]] = []
        for f in plan.fields:
            if f.kind == TYPENAME:
                entries.append((f.key, json_text.typename(plan.type_name)))
            elif f.kind == ATTRIBUTE and f.attribute in mapping.fields:
                entries.append((f.key, self.mapped(f, mapping.fields[f.attribute], rows)))
            elif f.kind == DIRECT and f.call is not None and in_postgres(f.call.resolver) is not None:
                entries.append((f.key, self.joined(f, in_postgres(f.call.resolver), rows, joins)))
            else:
                raise NotCovered
        return json_text.obj(entries)

    def joined(self, field: FieldPlan, source: Any, rows: str, joins: list[str]) -> Json:
        if isinstance(source, PageSource) and source.parent:
            alias = self.alias("p")
            value, subquery = self.page(field, source, f"{rows}.id", alias)
            joins.append(f"LEFT JOIN LATERAL ({subquery}) {alias} ON true")
            return value
        if isinstance(source, TotalsSource) and field.batch_rows is not None:
            self.arguments(field, {"from", "to"})
            start, end = self.param(field, "from"), self.param(field, "to")
            self.ranges.append((len(self.params) - 2, len(self.params) - 1))
            alias = self.alias("m")
            joins.append(f"LEFT JOIN LATERAL ({source.rows(rows, start, end)}) {alias} ON true")
            plan = self.plan(field)
            mapping = row_mapping(_origin(plan.type))
            if mapping is None or not mapping.rows:
                raise NotCovered
            entries: list[tuple[str, Json]] = []
            for f in plan.fields:
                if f.kind == TYPENAME:
                    entries.append((f.key, json_text.typename(plan.type_name)))
                elif f.kind == ATTRIBUTE and f.attribute in mapping.fields:
                    entries.append((f.key, self.mapped(f, mapping.fields[f.attribute], alias)))
                else:
                    raise NotCovered
            return json_text.obj(entries)
        raise NotCovered

    def mapped(self, field: FieldPlan, derived: Derived, row: str) -> Json:
        """A field derived from row columns, written as the row builder and the field's completion would."""
        completion = field.completion
        reads = [f"{row}.{column}" for column in derived.columns]
        if len(reads) != len(derived.sources):
            raise NotCovered
        composed = composition(derived.function)
        if composed is not None and completion.kind == OBJECT and _origin(completion.type) is composed.cls:
            plan = self.plan(field)
            entries: list[tuple[str, Json]] = []
            for f in plan.fields:
                if f.kind == TYPENAME:
                    entries.append((f.key, json_text.typename(plan.type_name)))
                elif f.kind == ATTRIBUTE and f.attribute in composed.fields:
                    function, index = composed.fields[f.attribute]
                    entries.append((f.key, _leaf(function, reads[index], f.completion, nullable=False)))
                else:
                    raise NotCovered
            return json_text.unless_null(reads, json_text.obj(entries), completion.nullable)
        if completion.kind != LEAF or len(reads) != 1:
            raise NotCovered
        return _leaf(derived.function, reads[0], completion, completion.nullable)


def _leaf(function: Callable[..., Any] | None, read: str, completion: Completion, nullable: bool) -> Json:
    """A leaf: a column as it is, or through a function the statement knows (a NULL stays null)."""
    name = completion.type.name
    members = reader_members(function) if function is not None else None
    if members is not None:
        outputs = _enum_outputs(members, completion)
        return json_text.enum(read, outputs, nullable)
    if function is None:
        make = _LEAVES.get(name)
        if make is None or completion.coerce is not _standard(name):
            raise NotCovered
        return make(read, nullable)
    if function is str.strip and (name == "String" or completion.coerce in TEXT_SERIALIZERS):
        return json_text.stripped(read, nullable)
    if function.__name__ == "decimal_string" and completion.coerce in TEXT_SERIALIZERS:
        return json_text.amount(read, nullable)
    type_name = id_type(function)
    if type_name is not None and name == "ID":
        return json_text.global_id(type_name, read, nullable)
    raise NotCovered


def _enum_outputs(members: dict[Any, Any], completion: Completion) -> dict[str, str]:
    """Each stored value's enum value name, as the field's completion writes the member."""
    outputs = {}
    for stored, member in members.items():
        if not isinstance(stored, str):
            raise NotCovered
        output = completion.coerce(member)
        if not isinstance(output, str):
            raise NotCovered
        outputs[stored] = output
    return outputs


def _standard(name: str) -> Any:
    from graphql import GraphQLBoolean, GraphQLFloat, GraphQLID, GraphQLInt, GraphQLString

    scalars = {"String": GraphQLString, "ID": GraphQLID, "Int": GraphQLInt, "Float": GraphQLFloat}
    return (scalars | {"Boolean": GraphQLBoolean})[name].coerce_output_value


def _origin(object_type: GraphQLObjectType) -> type:
    definition = strawberry_definition(object_type.extensions)
    origin = getattr(definition, "origin", None)
    if not isinstance(origin, type):
        raise NotCovered
    return origin
