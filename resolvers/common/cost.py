"""Estimated query cost: how many objects a query may resolve, checked before it runs.

Depth and alias limits stop odd documents; they do not stop a small one that
fans out (`campaigns(first: 100) { creatives(first: 100) { ... } }` under a
few aliases). The estimate multiplies page sizes down the tree: each field
costs 1 per parent object, a connection multiplies its children by `first` or
`last` (or the default page size), a plain list by LIST_FACTOR, unless its
field's metadata holds a LIST_SIZE function: then by what that function makes
of the field's arguments (as written, with the request's variables).

The cost of a selection set is linear in how many parent objects it applies
to, so each (selection set, type) pair is priced once per object and
multiplied wherever it is used: a fragment spread a million times over is
priced once. The pricing stops at the first subtotal past the limit.

Introspection is priced like data: `__schema { types { fields { ... } } }`
multiplies by the number of types and the average number of fields per type
of this schema, so one full introspection (what GraphiQL sends) costs about as
many objects as the schema has, and thirty of them under aliases are refused.
`__typename` is free: it reads nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_abstract_type,
    is_enum_type,
    is_input_object_type,
    is_interface_type,
    is_object_type,
    value_from_ast_untyped,
)

from gateway.data.paging import DEFAULT_PAGE_SIZE
from resolvers.internals import strawberry_definition

LIST_FACTOR = 30  # e.g. daily metrics of a month
LIST_SIZE = "list_size"  # metadata key of a field: its list's size from its arguments
CHECK_EVERY = 256  # priced selection sets between two looks at the request's time budget

# (id of a selection set node, name of the type it selects on, how many `ofType` it is below)
Key = tuple[int, str, int]
Part = tuple[GraphQLNamedType, SelectionSetNode, float, int]  # type, selection set, times per object, `ofType` depth


class CostExceeded(Exception):
    def __init__(self, cost: int) -> None:
        super().__init__(cost)
        self.cost = cost


class CostEstimator:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        max_cost: int,
        tick: Callable[[], None] = lambda: None,
    ):
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.max_cost = max_cost
        self.tick = tick
        self.defaults: dict[str, Any] = {}
        self.sizes, self.wrapping = introspection_sizes(schema)
        # Per object; fractional where introspection multiplies by an average.
        self.units: dict[Key, float] = {}

    def operation(self, operation: OperationDefinitionNode) -> int:
        root = self.schema.get_root_type(operation.operation)
        # A variable the request leaves out takes its default from the document: a page size
        # hidden there (`$first: Int = 100`) must count as much as one sent in `variables`.
        self.defaults = {
            d.variable.name.value: value_from_ast_untyped(d.default_value)
            for d in operation.variable_definitions or ()
            if d.default_value is not None
        }
        self.units = {}  # page sizes may come from this operation's defaults
        return math.ceil(self.unit((root, operation.selection_set, 1, 0))) if root else 0

    def unit(self, top: Part) -> float:
        """The cost of a selection set per parent object, its parts priced first (no recursion)."""
        active: set[Key] = set()
        stack: list[tuple[Part, bool]] = [(top, False)]
        while stack:
            part, ready = stack.pop()
            owner, node, _, wrap = part
            key = (id(node), owner.name, wrap)
            if key in self.units:
                continue
            if ready:
                if len(self.units) % CHECK_EVERY == 0:
                    self.tick()
                self.units[key] = self.price(owner, node, wrap)
                active.discard(key)
                continue
            active.add(key)
            stack.append((part, True))
            for child in self.parts(owner, node, wrap):
                # A fragment inside itself is a cycle, refused by validation; it costs nothing here.
                if (id(child[1]), child[0].name, child[3]) not in active:
                    stack.append((child, False))
        return self.units[(id(top[1]), top[0].name, top[3])]

    def parts(self, owner: GraphQLNamedType, node: SelectionSetNode, wrap: int) -> Iterator[Part]:
        """Each part of a selection set: the selection set and type below it, how many per object.

        A field yields its own selection set (times its list factor); inline fragments and fragment
        spreads yield theirs, once, on the type of their condition. Below more `ofType` than any
        type of the schema is wrapped in (list, non-null), introspection finds nothing: no part.
        """
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                if selection.selection_set is None:
                    continue
                definition = self.schema.get_field(owner, selection.name.value)  # type: ignore[arg-type]
                if definition is None:  # validation reports unknown fields
                    continue
                inner = wrap + 1 if owner.name == "__Type" and selection.name.value == "ofType" else 0
                if inner <= self.wrapping:
                    # A connection's `edges` list is the page its own `first`/`last` already counted.
                    factor = 1 if owner.name.endswith("Connection") else self.factor(owner, selection, definition)
                    yield get_named_type(definition.type), selection.selection_set, factor, inner
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else owner
                if target is not None:
                    yield target, selection.selection_set, 1, wrap
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                target = self.schema.get_type(fragment.type_condition.name.value) if fragment else None
                if fragment is not None and target is not None:
                    yield target, fragment.selection_set, 1, wrap

    def price(self, owner: GraphQLNamedType, node: SelectionSetNode, wrap: int) -> float:
        # Each field costs one per object; `__typename` reads nothing, unknown fields are validation's.
        total = 0.0
        for s in node.selections:
            if isinstance(s, FieldNode) and s.name.value != "__typename":
                total += self.schema.get_field(owner, s.name.value) is not None  # type: ignore[arg-type]
        for child_type, child, factor, inner in self.parts(owner, node, wrap):
            total += factor * self.units.get((id(child), child_type.name, inner), 0)
            if total > self.max_cost:
                raise CostExceeded(math.ceil(total))
        return total

    def factor(self, owner: GraphQLNamedType, field: FieldNode, definition: Any) -> float:
        # Past the limit a factor changes nothing but the size of the numbers: a page size sent
        # as 10**1000 would not fit the floats the averages of introspection are multiplied in.
        return min(self._factor(owner, field, definition), self.max_cost + 1)

    def _factor(self, owner: GraphQLNamedType, field: FieldNode, definition: Any) -> float:
        output = definition.type
        size = getattr(strawberry_definition(definition.extensions), "metadata", {}).get(LIST_SIZE)
        if size is not None:
            return max(int(size(self._arguments(field))), 1)
        named = get_named_type(output)
        if named.name.endswith("Connection"):
            for argument in field.arguments or ():
                if argument.name.value in ("first", "last"):
                    value = self._int(argument.value)
                    if value is not None:
                        return max(value, 1)
            return DEFAULT_PAGE_SIZE
        if not isinstance(get_nullable_type(output), GraphQLList):
            return 1
        return self.sizes.get((owner.name, field.name.value), LIST_FACTOR)

    def _arguments(self, field: FieldNode) -> dict[str, Any]:
        known = {**self.defaults, **self.variables}
        return {a.name.value: value_from_ast_untyped(a.value, known) for a in field.arguments or ()}

    def _int(self, value: Any) -> int | None:
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, VariableNode):
            name = value.name.value
            raw = self.variables[name] if name in self.variables else self.defaults.get(name)
            return raw if isinstance(raw, int) else None
        return None


@lru_cache(maxsize=8)
def introspection_sizes(schema: GraphQLSchema) -> tuple[dict[tuple[str, str], float], int]:
    """The lists of introspection, sized from this schema (all its types, and averages per parent),
    and how deep its types are wrapped (the `ofType` below which there is nothing).

    Averages make a walk over the whole schema cost what the schema holds: `types { fields }`
    is priced at the number of types times the average number of fields per type.
    """
    types = list(schema.type_map.values())
    with_fields = [t for t in types if is_object_type(t) or is_interface_type(t)]
    fields = [f for t in with_fields for f in t.fields.values()]  # type: ignore[attr-defined]
    directives = schema.directives

    def per(total: int, parents: int) -> float:
        return total / max(parents, 1)

    sizes = {
        ("__Schema", "types"): len(types),
        ("__Schema", "directives"): len(directives),
        ("__Type", "fields"): per(len(fields), len(types)),
        ("__Type", "interfaces"): per(sum(len(t.interfaces) for t in with_fields), len(types)),  # type: ignore[attr-defined]
        ("__Type", "possibleTypes"): per(
            sum(len(schema.get_possible_types(t)) for t in types if is_abstract_type(t)),  # type: ignore[arg-type]
            len(types),
        ),
        ("__Type", "enumValues"): per(sum(len(t.values) for t in types if is_enum_type(t)), len(types)),  # type: ignore[attr-defined]
        ("__Type", "inputFields"): per(sum(len(t.fields) for t in types if is_input_object_type(t)), len(types)),  # type: ignore[attr-defined]
        ("__Field", "args"): per(sum(len(f.args) for f in fields), len(fields)),
        ("__Directive", "args"): per(sum(len(d.args) for d in directives), len(directives)),
    }
    references = [f.type for f in fields] + [a.type for f in fields for a in f.args.values()]
    references += [f.type for t in types if is_input_object_type(t) for f in t.fields.values()]  # type: ignore[attr-defined]
    references += [a.type for d in directives for a in d.args.values()]
    return sizes, max((_wrappers(r) for r in references), default=0)


def _wrappers(reference: Any) -> int:
    count = 0
    while hasattr(reference, "of_type"):
        reference = reference.of_type
        count += 1
    return count


def estimate_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any],
    max_cost: int,
    tick: Callable[[], None] = lambda: None,
) -> int:
    """The cost of the operation a request runs (the costliest one when no name picks one).

    Past `max_cost` the pricing stops: the figure returned is then only a lower bound (still above the limit).
    """
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    estimator = CostEstimator(schema, fragments, variables, max_cost, tick)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    highest = 0
    for operation in operations:
        try:
            highest = max(highest, estimator.operation(operation))
        except CostExceeded as exceeded:
            return exceeded.cost
    return highest


def cost_error(cost: int, max_cost: int) -> GraphQLError:
    return GraphQLError(
        f"the query may resolve {cost:,} objects or more, more than the limit of {max_cost:,}; "
        "ask for smaller pages (first/last) or fewer nested lists",
        extensions={"code": "QUERY_TOO_COMPLEX", "cost": cost, "maxCost": max_cost},
    )
