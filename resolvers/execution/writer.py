"""What compiles a selection into Python source: names for constants, leaf and object completion lines.

See `compiled.py` for what a compiled selection is; `from_rows.py` adds writing from rows and documents.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from types import CodeType
from typing import Any

from graphql import GraphQLFloat, GraphQLInt, GraphQLObjectType
from graphql.pyutils import Undefined

from resolvers.common.objects import reader_members
from resolvers.execution.plan import LEAF, LIST, OBJECT, Allowance, Completion, Fast, FieldPlan, SelectionPlan
from resolvers.internals import TYPE_CAST_ATTRIBUTE, generated_is_type_of, strawberry_definition

# The planned selection set of an object type below a field (see `planning.object_plan`).
SubPlan = Callable[[FieldPlan, Completion, GraphQLObjectType], SelectionPlan]

_SERIALIZE_INT, _SERIALIZE_FLOAT = GraphQLInt.coerce_output_value, GraphQLFloat.coerce_output_value
_MIN_INT, _MAX_INT = -(2**31), 2**31 - 1


# Compiled sources by (file name, text): the same selection in another document (or the same fragment
# under another parent) writes the same source, compiled once. The names it reads are bound per plan.
CODE_CACHE = 2048
_CODE: dict[tuple[str, str], CodeType] = {}


class Writer:
    """Source lines of compiled selections, the constants they use, and the plans below them."""

    def __init__(self, subplan: SubPlan, allowance: Allowance) -> None:
        self.subplan = subplan
        self.allowance = allowance
        self.names: dict[str, Any] = {"Undefined": Undefined, "CAST": TYPE_CAST_ATTRIBUTE}
        self.serial = 0  # numbers the variables of nested compositions

    def name(self, value: Any) -> str:
        name = f"n{len(self.names)}"
        self.names[name] = value
        return name

    def compiled(self, lines: list[str], filename: str, fields: int) -> Fast | None:
        """The function `lines` define; None when it is new and the document may compile no more fields."""
        source = (filename, "\n".join(lines))
        code = _CODE.get(source)
        if code is None:
            if self.allowance.fields < fields:
                return None
            self.allowance.fields -= fields
            code = compile(source[1], filename, "exec")
            if len(_CODE) >= CODE_CACHE:
                _CODE.clear()  # plain dict operations: safe with several loops in one process (tests)
            _CODE[source] = code
        namespace = dict(self.names)
        exec(code, namespace)
        fast: Fast = namespace["fast"]
        return fast

    def completes_inline(self, field: FieldPlan, completion: Completion) -> bool:
        if completion.kind == LEAF:
            return True
        if completion.kind == LIST:
            item = completion.item
            return item is not None and item.kind in (LEAF, OBJECT) and self.completes_inline(field, item)
        if completion.kind != OBJECT or class_check(completion.type) is False:
            return False
        plan = self.subplan(field, completion, completion.type)
        return plan.fast is not None and not plan.general and not plan.deferred

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
            members = enum_names(completion)
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
        origin = class_check(object_type)
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


def enum_names(completion: Completion) -> tuple[type[Enum], dict[str, Any]] | None:
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


def stored_outputs(function: Callable[..., Any] | None, completion: Completion) -> dict[Any, Any] | None:
    """For an enum field read through `enum_reader`, each stored value's output; else None."""
    members = reader_members(function) if function is not None else None
    names = enum_names(completion) if members is not None and completion.kind == LEAF else None
    if members is None or names is None or names[0] is not next(iter(members.values())).__class__:
        return None
    return {stored: names[1][member._name_] for stored, member in members.items() if member._name_ in names[1]}


def origin_of(object_type: GraphQLObjectType) -> type | None:
    """The Python class of a strawberry type."""
    definition = strawberry_definition(object_type.extensions)
    origin = getattr(definition, "origin", None)
    return origin if isinstance(origin, type) else None


def class_check(object_type: GraphQLObjectType) -> type | bool | None:
    """The class an object of this type must have to skip its `is_type_of`; None without one; False: not inline."""
    is_type_of = object_type.is_type_of
    if is_type_of is None:
        return None
    definition = strawberry_definition(object_type.extensions)
    if definition is None or not generated_is_type_of(is_type_of):
        return False
    origin: type = definition.origin
    return origin
