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

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from types import CodeType
from typing import Any

from graphql import GraphQLObjectType
from graphql.pyutils import Undefined
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE

from resolvers.common.objects import RowMapping, reader_members, row_mapping
from resolvers.common.relay import CONNECTION_EDGES, EDGE_CURSOR
from resolvers.execution.plan import (
    ATTRIBUTE,
    DIRECT,
    LEAF,
    LIST,
    OBJECT,
    TYPENAME,
    Allowance,
    Completion,
    Fast,
    FieldPlan,
    SelectionPlan,
)

# The planned selection set of an object type below a field (see `plan.object_plan`).
SubPlan = Callable[[FieldPlan, Completion, GraphQLObjectType], SelectionPlan]

STRAWBERRY_DEFINITION = "strawberry-definition"
# Compiled sources by (type, text): the same selection in another document (or the same fragment
# under another parent) writes the same source, compiled once. The names it reads are bound per plan.
CODE_CACHE = 2048
_CODE: dict[tuple[str, str], CodeType] = {}
# The fields of a connection that do not read its rows (they read its cursors' sort values and counts).
_PAGE_FIELDS_WITHOUT_ROWS = frozenset({"pageInfo", "totalCount", "countsByStatus"})


def compile_plan(plan: SelectionPlan, subplan: SubPlan, allowance: Allowance) -> None:
    """Set `plan.fast` (None when no field is inline, or the document may compile no more)
    and `plan.general` (the fields left to the general path)."""
    writer = _Writer(subplan)
    inline = [writer.inline(field) for field in plan.fields]
    plan.fast = writer.function(plan, inline, allowance) if any(inline) else None
    plan.general = [field for field, done in zip(plan.fields, inline, strict=True) if not done or plan.fast is None]
    exact = _class_check(plan.type)
    plan.exact_class = exact if isinstance(exact, type) else None
    if plan.fast is None:
        return  # edges are built as objects, from every column
    fused = [writer.row_edges_of[id(f)] for f in plan.fields if id(f) in writer.row_edges_of]
    # The page may read fewer columns only when nothing else of the connection reads its rows
    # (`edges` selected again with a resolver below builds items from every column).
    others = [f for f in plan.fields if id(f) not in writer.row_edges_of and f.kind != TYPENAME]
    if fused and all(f.name in _PAGE_FIELDS_WITHOUT_ROWS for f in others):
        plan.row_fields = frozenset(
            attribute
            for edges in fused
            for f in edges.node.fields
            if f.kind == ATTRIBUTE
            for attribute in edges.mapping.fields[f.attribute][1]
        )


@dataclass(frozen=True)
class _RowEdges:
    """A connection's `edges` written straight from its page's rows (see `_Writer.row_edges`)."""

    mapping: RowMapping
    edge: SelectionPlan
    node: SelectionPlan


class _Writer:
    def __init__(self, subplan: SubPlan) -> None:
        self.subplan = subplan
        self.names: dict[str, Any] = {"Undefined": Undefined, "CAST": TYPE_CAST_ATTRIBUTE}
        self.row_edges_of: dict[int, _RowEdges] = {}

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
        for f in node.fields:
            if f.kind == TYPENAME:
                continue
            if f.kind != ATTRIBUTE or f.attribute not in mapping.fields or not self.completes_inline(f, f.completion):
                return None
        found = self.row_edges_of[id(field)] = _RowEdges(mapping, edge, node)
        return found

    def completes_inline(self, field: FieldPlan, completion: Completion) -> bool:
        if completion.kind == LEAF:
            return True
        if completion.kind == LIST:
            item = completion.item
            return item is not None and item.kind in (LEAF, OBJECT) and self.completes_inline(field, item)
        if completion.kind != OBJECT or _class_check(completion.type) is False:
            return False
        plan = self.subplan(field, completion, completion.type)
        return plan.fast is not None and not plan.general

    def name(self, value: Any) -> str:
        name = f"n{len(self.names)}"
        self.names[name] = value
        return name

    def function(self, plan: SelectionPlan, inline: list[bool], allowance: Allowance) -> Fast | None:
        lines = ["def fast(src, out):", " try:"]
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
        source = (plan.type_name, "\n".join(lines))
        code = _CODE.get(source)
        if code is None:
            if allowance.fields < len(plan.fields):
                return None
            allowance.fields -= len(plan.fields)
            code = compile(source[1], f"<compiled {plan.type_name} selection>", "exec")
            if len(_CODE) >= CODE_CACHE:
                _CODE.clear()  # plain dict operations: safe with several loops in one process (tests)
            _CODE[source] = code
        namespace = dict(self.names)
        exec(code, namespace)
        fast: Fast = namespace["fast"]
        return fast

    def edges_from_rows(self, field: FieldPlan, target: str) -> list[str]:
        """Lines that write a connection's edges from its page's rows, or return False."""
        fused = self.row_edges_of[id(field)]
        mapping = fused.mapping
        lines = [
            f"  if src.build is not {self.name(mapping.build)}: return False",  # built another way
            "  _page = src.page",
            "  _edges = []",
            "  for _i, _row in enumerate(_page.rows):",
            "   _edge = {}",
        ]
        for edge_field in fused.edge.fields:
            key = repr(edge_field.key)
            if edge_field.kind == TYPENAME:
                lines.append(f"   _edge[{key}] = {fused.edge.type_name!r}")
            elif edge_field.kind == DIRECT:  # the cursor
                lines.append("   _cursor = _page.cursor(_i)")
                lines.extend(self.value(edge_field, edge_field.completion, "_cursor", f"_edge[{key}]", "   "))
            else:
                lines.append("   _node = {}")
                for node_field in fused.node.fields:
                    node_key = repr(node_field.key)
                    if node_field.kind == TYPENAME:
                        lines.append(f"   _node[{node_key}] = {fused.node.type_name!r}")
                        continue
                    function, attributes = mapping.fields[node_field.attribute]
                    read = ", ".join(f"_row.{a}" for a in attributes)
                    outputs = _stored_outputs(function, node_field.completion)
                    if outputs is not None:
                        # A stored enum value straight to its output (a value it does not know: KeyError, general path).
                        lookup = f"{self.name(outputs)}[{read}]"
                        if node_field.completion.nullable:
                            lookup = f"None if {read} is None else {lookup}"
                        lines.append(f"   _node[{node_key}] = {lookup}")
                        continue
                    if function is None:
                        lines.append(f"   _value = {read}")
                    else:  # as the row builder does: a function is not applied to a missing value
                        missing = " or ".join(f"_row.{a} is None" for a in attributes)
                        lines.append(f"   _value = None if {missing} else {self.name(function)}({read})")
                    lines.extend(self.value(node_field, node_field.completion, "_value", f"_node[{node_key}]", "   "))
                lines.append(f"   _edge[{key}] = _node")
        lines += ["   _edges.append(_edge)", f"  {target} = _edges"]
        return lines

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
