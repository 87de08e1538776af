"""Selection sets compiled into Python functions that build response dicts directly.

For each planned selection set, the fields whose values are plain attribute
reads (leaves, objects and lists of them, down to any depth, as long as no
resolver runs below) are written out as the straight-line source of one
function, compiled once with the plan. Called with a source object and its
empty response dict, the function fills every key in selection order (the
others get a `None` placeholder for the general path to overwrite) and
returns True, or returns False as soon as it meets anything the fast path
does not decide alone: a `None` in a non-null position, a value of another
Python type than the usual one, an enum member not seen before, an object
that is not exactly its type's class, any exception. The caller then clears
the dict and runs the object through the general path, which raises and
locates the errors as graphql-core does. Attribute reads and leaf
serialisation have no side effects, so doing them twice is harmless.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from graphql import GraphQLFloat, GraphQLInt, GraphQLObjectType
from graphql.pyutils import Undefined
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE

from resolvers.common.objects import (
    KEY,
    Composed,
    Derived,
    RowMapping,
    composition,
    is_total,
    partial_builder,
    reader_members,
    row_mapping,
)
from resolvers.common.relay import CONNECTION_EDGES, EDGE_CURSOR
from resolvers.execution.in_postgres import compile_field
from resolvers.execution.plan import (
    ATTRIBUTE,
    DIRECT,
    LEAF,
    LIST,
    OBJECT,
    TYPENAME,
    Completion,
    Fast,
    FieldPlan,
    SelectionPlan,
)

# The planned selection set of an object type below a field (see `plan.object_plan`).
SubPlan = Callable[[FieldPlan, Completion, GraphQLObjectType], SelectionPlan]

STRAWBERRY_DEFINITION = "strawberry-definition"
# The fields of a connection that do not read its rows (they read its cursors' sort values and counts).
_PAGE_FIELDS_WITHOUT_ROWS = frozenset({"pageInfo", "totalCount", "countsByStatus"})
_SERIALIZE_INT, _SERIALIZE_FLOAT = GraphQLInt.coerce_output_value, GraphQLFloat.coerce_output_value
_MIN_INT, _MAX_INT = -(2**31), 2**31 - 1


def compile_plan(plan: SelectionPlan, subplan: SubPlan) -> None:
    """Set `plan.fast` (None when no field is inline) and `plan.general` (the fields left to the general path)."""
    writer = _Writer(subplan)
    for field in plan.fields:
        if field.kind == DIRECT:
            field.written = compile_field(field, subplan)
    inline = [writer.inline(field) for field in plan.fields]
    plan.general = [field for field, done in zip(plan.fields, inline, strict=True) if not done]
    plan.fast = writer.function(plan, inline) if any(inline) else None
    exact = _class_check(plan.type)
    plan.exact_class = exact if isinstance(exact, type) else None
    # A type built from rows or documents: the selection written straight from one (a batched field's rows).
    origin = _origin(plan.type)
    mapping = row_mapping(origin) if origin is not None and exact is not False else None
    if mapping is not None and writer.mapped_inline(plan, mapping):
        plan.from_source = writer.from_source(plan, mapping)
    plan.deferred = [(e.field, e.node_field, e.rest) for e in writer.deferred if e.rest is not None]
    fused = [writer.row_edges_of[id(f)] for f in plan.fields if id(f) in writer.row_edges_of]
    # The page may read fewer columns only when nothing else of the connection reads its rows
    # (`edges` selected again with a resolver below builds items from every column).
    others = [f for f in plan.fields if id(f) not in writer.row_edges_of and f.kind != TYPENAME]
    if fused and all(f.name in _PAGE_FIELDS_WITHOUT_ROWS for f in others) and all(e.mapping.rows for e in fused):
        read = [e.columns() for e in fused]
        plan.row_fields = None if None in read else frozenset(c for columns in read if columns for c in columns)


@dataclass(frozen=True)
class _RowEdges:
    """A connection's `edges` written straight from its page's rows (see `_Writer.row_edges`).

    `rest`: the item's fields the rows cannot answer (resolvers), run on the general path
    over an item object built from the row; None when there are none.
    """

    mapping: RowMapping
    field: FieldPlan
    edge: SelectionPlan
    node_field: FieldPlan
    node: SelectionPlan
    rest: SelectionPlan | None

    def reads(self) -> frozenset[str] | None:
        """The item attributes the fields of `rest` read, when they all declare it (batches); else None."""
        found = set[str]()
        for f in self.rest.fields if self.rest is not None else ():
            reads = f.batch_reads if f.batch is not None else None
            if reads is None or any(a not in self.mapping.fields for a in reads):
                return None
            found.update(reads)
        return frozenset(found)

    def item_builder(self) -> Callable[[Any], Any]:
        """What builds the item the fields of `rest` run over: only the attributes they read, when known."""
        reads = self.reads()
        return self.mapping.build if reads is None else partial_builder(self.mapping, reads)

    def columns(self) -> frozenset[str] | None:
        """The row fields the items read; None when a resolver of `rest` may read any."""
        mapping, found = self.mapping, set[str]()
        for f in self.node.fields:
            if (
                f.kind == ATTRIBUTE
                and f.attribute in mapping.fields
                and (self.rest is None or f not in self.rest.fields)
            ):
                found.update(mapping.fields[f.attribute].columns)
        reads = self.reads()
        if reads is None:
            return None
        for attribute in reads:
            found.update(mapping.fields[attribute].columns)
        return frozenset(found)


class _Writer:
    def __init__(self, subplan: SubPlan) -> None:
        self.subplan = subplan
        self.names: dict[str, Any] = {"Undefined": Undefined, "CAST": TYPE_CAST_ATTRIBUTE}
        self.row_edges_of: dict[int, _RowEdges] = {}
        self.deferred: list[_RowEdges] = []  # pages whose items have fields left to the general path
        self.serial = 0  # numbers the variables of nested compositions

    def inline(self, field: FieldPlan) -> bool:
        if field.kind == TYPENAME:
            return True
        if field.kind == DIRECT:
            return self.row_edges(field) is not None
        return field.kind == ATTRIBUTE and self.completes_inline(field, field.completion)

    def row_edges(self, field: FieldPlan) -> _RowEdges | None:
        """For `edges` of a connection whose items are built by a `row_builder` and selected by its fields only.

        Then each edge and item is written from the row, with the same functions
        the row builder applies, and no edge or item object is built. The standard
        executor would build the objects with the type's own class, so skipping
        their `is_type_of` changes nothing.
        """
        found = self.row_edges_of.get(id(field))
        if found is not None:
            return found
        call, item = field.call, field.completion.item
        if call is None or call.resolver is not CONNECTION_EDGES or item is None or item.kind != OBJECT:
            return None
        if _class_check(item.type) is False:
            return None
        edge = self.subplan(field, item, item.type)
        nodes = [f for f in edge.fields if f.kind == ATTRIBUTE and f.attribute == "node"]
        for f in edge.fields:
            cursor = f.kind == DIRECT and f.call is not None and f.call.resolver is EDGE_CURSOR
            if f.kind != TYPENAME and not cursor and f not in nodes:
                return None
        if len(nodes) != 1 or nodes[0].completion.kind != OBJECT:
            return None
        node_field, node_completion = nodes[0], nodes[0].completion
        origin = _class_check(node_completion.type)
        mapping = row_mapping(origin) if isinstance(origin, type) else None
        if mapping is None:
            return None
        node = self.subplan(node_field, node_completion, node_completion.type)
        left = [f for f in node.fields if f.kind != TYPENAME and not self.mapped_field_inline(f, mapping)]
        rest = None
        if left:
            # The item's other fields run on the general path, over the item built from its row.
            rest = copy.copy(node)
            rest.fast, rest.fields, rest.general, rest.deferred = None, left, left, []
        found = self.row_edges_of[id(field)] = _RowEdges(mapping, field, edge, node_field, node, rest)
        return found

    def mapped_field_inline(self, field: FieldPlan, mapping: RowMapping) -> bool:
        derived = mapping.fields.get(field.attribute) if field.kind == ATTRIBUTE else None
        if derived is None:
            return False
        return self.composed_of(field, derived) is not None or self.completes_inline(field, field.completion)

    def mapped_inline(self, plan: SelectionPlan, mapping: RowMapping) -> bool:
        """Whether every field of `plan` derives from the mapping's source and completes without the general path."""
        return all(f.kind == TYPENAME or self.mapped_field_inline(f, mapping) for f in plan.fields)

    def composed_of(self, field: FieldPlan, derived: Derived) -> Composed | None:
        """The composition a field's value is made by, when its selection reads only the composed fields."""
        composed = composition(derived.function)
        completion = field.completion
        if composed is None or completion.kind != OBJECT or _origin(completion.type) is not composed.cls:
            return None
        if _class_check(completion.type) is False:
            return None
        if any(index >= len(derived.sources) for _, index in composed.fields.values()):
            return None
        plan = self.subplan(field, completion, completion.type)
        for f in plan.fields:
            if f.kind == TYPENAME:
                continue
            if f.kind != ATTRIBUTE or f.attribute not in composed.fields or not self.completes_inline(f, f.completion):
                return None
        return composed

    def completes_inline(self, field: FieldPlan, completion: Completion) -> bool:
        if completion.kind == LEAF:
            return True
        if completion.kind == LIST:
            item = completion.item
            return item is not None and item.kind in (LEAF, OBJECT) and self.completes_inline(field, item)
        if completion.kind != OBJECT or _class_check(completion.type) is False:
            return False
        plan = self.subplan(field, completion, completion.type)
        return plan.fast is not None and not plan.general and not plan.deferred

    def name(self, value: Any) -> str:
        name = f"n{len(self.names)}"
        self.names[name] = value
        return name

    def function(self, plan: SelectionPlan, inline: list[bool]) -> Fast:
        lines = ["def fast(src, out, later=None):", " try:"]
        for field, done in zip(plan.fields, inline, strict=True):
            key = repr(field.key)
            if not done:
                lines.append(f"  out[{key}] = None")
            elif field.kind == TYPENAME:
                lines.append(f"  out[{key}] = {plan.type_name!r}")
            elif field.kind == DIRECT:
                lines.extend(self.edges_from_rows(field, f"out[{key}]"))
            else:
                lines.append(f"  v = src.{field.attribute}")
                lines.extend(self.value(field, field.completion, "v", f"out[{key}]", "  "))
        lines += ["  return True", " except Exception:", "  return False"]
        return self.compiled(lines, f"<compiled {plan.type_name} selection>")

    def edges_from_rows(self, field: FieldPlan, target: str) -> list[str]:
        """Lines that write a connection's edges from its page's rows, or return False."""
        fused = self.row_edges_of[id(field)]
        mapping = fused.mapping
        lines = [f"  if src.build is not {self.name(mapping.build)}: return False"]  # built another way
        if fused.rest is not None:
            # Only the runner's levels take the items left to the general path (`later`).
            lines.append("  if later is None: return False")
            self.deferred.append(fused)
        lines += ["  _page = src.page", "  _edges = []", "  for _i, _row in enumerate(_page.rows):", "   _edge = {}"]
        for edge_field in fused.edge.fields:
            key = repr(edge_field.key)
            if edge_field.kind == TYPENAME:
                lines.append(f"   _edge[{key}] = {fused.edge.type_name!r}")
            elif edge_field.kind == DIRECT:  # the cursor
                lines.append("   _cursor = _page.cursor(_i)")
                lines.extend(self.value(edge_field, edge_field.completion, "_cursor", f"_edge[{key}]", "   "))
            else:
                lines.append("   _node = {}")
                lines += self.mapped_fields(fused.node, mapping, "_row", "_node", "   ", fused.rest)
                lines.append(f"   _edge[{key}] = _node")
                if fused.rest is not None:
                    which, build = len(self.deferred) - 1, self.name(fused.item_builder())
                    lines.append(f"   later.append(({which}, _i, _edges, _edge, _node, {build}(_row)))")
        lines += ["   _edges.append(_edge)", f"  {target} = _edges"]
        return lines

    def mapped_fields(
        self,
        plan: SelectionPlan,
        mapping: RowMapping,
        source: str,
        out: str,
        indent: str,
        rest: SelectionPlan | None = None,
    ) -> list[str]:
        """Lines that write `plan`'s fields into the dict `out` straight from the row or document `source`.

        The fields of `rest` get a placeholder, keeping the key order, for the general path to fill.
        """
        lines = []
        for field in plan.fields:
            key = repr(field.key)
            if field.kind == TYPENAME:
                lines.append(f"{indent}{out}[{key}] = {plan.type_name!r}")
                continue
            if rest is not None and field in rest.fields:
                lines.append(f"{indent}{out}[{key}] = None")
                continue
            derived = mapping.fields[field.attribute]
            target = f"{out}[{key}]"
            reads = [s.expression(source, self.name) for s in derived.sources]
            outputs = _stored_outputs(derived.function, field.completion)
            if outputs is not None and len(reads) == 1:
                # A stored enum value straight to its output (a value it does not know: KeyError, general path).
                lookup = f"{self.name(outputs)}[{reads[0]}]"
                if derived.skip_none and field.completion.nullable:
                    lookup = f"None if {reads[0]} is None else {lookup}"
                lines.append(f"{indent}{target} = {lookup}")
                continue
            composed = self.composed_of(field, derived)
            if composed is not None:
                lines += self.composed(field, derived, composed, reads, target, indent)
                continue
            # As the builder does (for rows: a function is not applied to a missing value).
            lines.append(f"{indent}_value = {derived.expression(source, self.name)}")
            lines.extend(self.value(field, field.completion, "_value", target, indent))
        if not mapping.rows and rest is None:
            lines += self.unselected(plan, mapping, source, indent)
        return lines

    def unselected(self, plan: SelectionPlan, mapping: RowMapping, source: str, indent: str) -> list[str]:
        """For documents: read what the builder would read for the fields not selected, where that can fail.

        A document is not held to a schema as a row is, and the standard executor builds
        every field of the object: a missing key or a value the type's functions refuse
        must fail here too (the general path then raises the same error), not pass unseen.
        """
        selected = {f.attribute for f in plan.fields if f.kind == ATTRIBUTE}
        lines = []
        for name, derived in mapping.fields.items():
            if name in selected:
                continue
            if derived.function is None or is_total(derived.function):
                reads = [s.expression(source, self.name) for s in derived.sources if s.kind == KEY]
                lines += [f"{indent}{read}" for read in reads]  # a KeyError when the key is missing
            else:
                lines.append(f"{indent}{derived.expression(source, self.name)}")
        return lines

    def composed(
        self, field: FieldPlan, derived: Derived, composed: Composed, reads: list[str], target: str, indent: str
    ) -> list[str]:
        """Lines that write a composed value's selected fields from the arguments it would be built with."""
        self.serial += 1
        args = [f"_a{self.serial}_{i}" for i in range(len(reads))]
        lines = [f"{indent}{a} = {r}" for a, r in zip(args, reads, strict=True)]
        inner = indent
        if derived.skip_none:
            null = f"{target} = None" if field.completion.nullable else "return False"
            lines += [f"{indent}if {' or '.join(f'{a} is None' for a in args)}:", f"{indent} {null}", f"{indent}else:"]
            inner = indent + " "
        plan = self.subplan(field, field.completion, field.completion.type)
        built = f"_o{self.serial}"
        lines.append(f"{inner}{built} = {{}}")
        for f in plan.fields:
            if f.kind == TYPENAME:
                lines.append(f"{inner}{built}[{f.key!r}] = {plan.type_name!r}")
                continue
            function, index = composed.fields[f.attribute]
            read = args[index] if function is None else f"{self.name(function)}({args[index]})"
            lines.append(f"{inner}_value = {read}")
            lines += self.value(f, f.completion, "_value", f"{built}[{f.key!r}]", inner)
        lines.append(f"{inner}{target} = {built}")
        return lines

    def from_source(self, plan: SelectionPlan, mapping: RowMapping) -> Fast:
        """A function that writes `plan`'s fields from one row or document of the mapping, or returns False."""
        lines = ["def fast(src, out, later=None):", " try:"]
        lines += self.mapped_fields(plan, mapping, "src", "out", "  ")
        lines += ["  return True", " except Exception:", "  return False"]
        return self.compiled(lines, f"<{plan.type_name} selection from rows>")

    def compiled(self, lines: list[str], filename: str) -> Fast:
        namespace = dict(self.names)
        exec(compile("\n".join(lines), filename, "exec"), namespace)
        fast: Fast = namespace["fast"]
        return fast

    def value(self, field: FieldPlan, completion: Completion, value: str, target: str, indent: str) -> list[str]:
        """Lines that write the completed `value` to `target`, or return False."""
        inner = indent + " "
        null = [f"{inner}{target} = None"] if completion.nullable else [f"{inner}return False"]
        if completion.kind == LEAF:
            # The usual cases first: a value of the type's own Python class, then None.
            lines = []
            if completion.identity is not None:
                lines += [
                    f"{indent}if {value}.__class__ is {self.name(completion.identity)}:",
                    f"{inner}{target} = {value}",
                ]
            elif completion.coerce is _SERIALIZE_INT:
                # What graphql-core's Int returns unchanged: an int of 32 bits (a bool is not an int here).
                lines += [
                    f"{indent}if {value}.__class__ is int and {_MIN_INT} <= {value} <= {_MAX_INT}:",
                    f"{inner}{target} = {value}",
                ]
            elif completion.coerce is _SERIALIZE_FLOAT:
                # A finite float (x - x is 0.0 exactly when x is neither infinite nor NaN).
                lines += [
                    f"{indent}if {value}.__class__ is float and {value} - {value} == 0.0:",
                    f"{inner}{target} = {value}",
                ]
            members = _enum_names(completion)
            if members is not None:
                # A member of the enum's own class: its output name looked up by member name,
                # without hashing the member (a Python-level `__hash__`).
                enum_class, names = members
                lines += [
                    f"{indent}{'el' if lines else ''}if {value}.__class__ is {self.name(enum_class)}:",
                    f"{inner}{target} = {self.name(names)}[{value}._name_]",
                ]
            lines += [f"{indent}{'el' if lines else ''}if {value} is None:", *null, f"{indent}else:"]
            if completion.memo is not None:
                lines.append(f"{inner}c = {self.name(completion.memo)}.get({value})")
                lines.append(f"{inner}if c is None: return False")
            else:
                lines.append(f"{inner}c = {self.name(completion.coerce)}({value})")
                lines.append(f"{inner}if c is None or c is Undefined: return False")
            lines.append(f"{inner}{target} = c")
            return lines
        lines = [f"{indent}if {value} is None:", *null]
        lines.append(f"{indent}else:")
        depth = len(indent)
        if completion.kind == LIST:
            item = completion.item
            assert item is not None
            items, element = f"l{depth}", f"e{depth}"
            lines += [
                f"{inner}if {value}.__class__ is not list: return False",
                f"{inner}{items} = []",
                f"{inner}for {element} in {value}:",
            ]
            lines += self.value(field, item, element, f"x{depth}", inner + " ")
            lines += [f"{inner} {items}.append(x{depth})", f"{inner}{target} = {items}"]
            return lines
        object_type: GraphQLObjectType = completion.type
        plan = self.subplan(field, completion, object_type)
        origin = _class_check(object_type)
        if origin is not None:
            # strawberry's `is_type_of`: an instance of the type's own class passes unless cast.
            check = f"{value}.__class__ is not {self.name(origin)} or getattr({value}, CAST, None) is not None"
            lines.append(f"{inner}if {check}: return False")
        built = f"o{depth}"
        lines += [
            f"{inner}{built} = {{}}",
            f"{inner}if not {self.name(plan.fast)}({value}, {built}): return False",
            f"{inner}{target} = {built}",
        ]
        return lines


def _enum_names(completion: Completion) -> tuple[type[Enum], dict[str, Any]] | None:
    """For an enum type backed by a Python enum (strawberry's), each member's output by member name."""
    enum_class = getattr(completion.type, "wrapped_cls", None)
    if completion.memo is None or not (isinstance(enum_class, type) and issubclass(enum_class, Enum)):
        return None
    names: dict[str, Any] = {}
    for member in enum_class:
        try:
            output = completion.coerce(member)
        except Exception:  # a member the schema refuses stays on the general path
            continue
        if output is not None and output is not Undefined:
            names[member._name_] = output
    return enum_class, names


def _stored_outputs(function: Callable[..., Any] | None, completion: Completion) -> dict[Any, Any] | None:
    """For an enum field read through `enum_reader`, each stored value's output; else None."""
    members = reader_members(function) if function is not None else None
    names = _enum_names(completion) if members is not None and completion.kind == LEAF else None
    if members is None or names is None or names[0] is not next(iter(members.values())).__class__:
        return None
    return {stored: names[1][member._name_] for stored, member in members.items() if member._name_ in names[1]}


def _origin(object_type: GraphQLObjectType) -> type | None:
    """The Python class of a strawberry type."""
    definition = object_type.extensions.get(STRAWBERRY_DEFINITION)
    origin = getattr(definition, "origin", None)
    return origin if isinstance(origin, type) else None


def _class_check(object_type: GraphQLObjectType) -> type | bool | None:
    """The class an object of this type must have to skip its `is_type_of`; None without one; False: not inline."""
    is_type_of = object_type.is_type_of
    if is_type_of is None:
        return None
    definition = object_type.extensions.get(STRAWBERRY_DEFINITION)
    generated = getattr(is_type_of, "__module__", "") == "strawberry.schema.schema_converter"
    if definition is None or not generated:
        return False
    origin: type = definition.origin
    return origin
