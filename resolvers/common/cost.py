"""Estimated query cost: how many objects a query may resolve, checked before it runs.

Depth and alias limits stop odd documents; they do not stop a small one that
fans out (`campaigns(first: 100) { creatives(first: 100) { ... } }` under a
few aliases). The estimate multiplies page sizes down the tree: each field
costs 1 per parent object, a connection multiplies its children by `first` or
`last` (or the default page size), a plain list by LIST_FACTOR, unless its
field's metadata holds a LIST_SIZE function: then by what that function makes
of the field's arguments (as written, with the request's variables).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
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
    value_from_ast_untyped,
)

from gateway.data.paging import DEFAULT_PAGE_SIZE

LIST_FACTOR = 30  # e.g. daily metrics of a month
LIST_SIZE = "list_size"  # metadata key of a field: its list's size from its arguments
STRAWBERRY_FIELD = "strawberry-definition"


class CostEstimator:
    def __init__(
        self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode], variables: Mapping[str, Any]
    ):
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.defaults: dict[str, int] = {}

    def operation(self, operation: OperationDefinitionNode) -> int:
        root = self.schema.get_root_type(operation.operation)
        # A variable the request leaves out takes its default from the document: a page size
        # hidden there (`$first: Int = 100`) must count as much as one sent in `variables`.
        self.defaults = {
            d.variable.name.value: value_from_ast_untyped(d.default_value)
            for d in operation.variable_definitions or ()
            if d.default_value is not None
        }
        return self.selection(root, operation.selection_set, 1, set()) if root else 0

    def selection(
        self, parent: GraphQLNamedType | None, node: SelectionSetNode | None, multiplier: int, seen: set[str]
    ) -> int:
        if node is None or parent is None:
            return 0
        total = 0
        for field, owner in self._fields(parent, node, seen):
            if field.name.value.startswith("__"):
                continue  # introspection: allowed or refused as a whole elsewhere
            definition = getattr(owner, "fields", {}).get(field.name.value)
            if definition is None:
                continue  # validation reports unknown fields
            total += multiplier
            if field.selection_set is not None:
                child_type = get_named_type(definition.type)
                # A connection's `edges` list is the page its own `first`/`last` already counted.
                factor = 1 if owner.name.endswith("Connection") else self._factor(field, definition)
                total += self.selection(child_type, field.selection_set, multiplier * factor, seen)
        return total

    def _fields(self, parent: Any, node: SelectionSetNode, seen: set[str]) -> Iterator[tuple[FieldNode, Any]]:
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                yield selection, parent
            elif isinstance(selection, InlineFragmentNode):
                target = (
                    self.schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent
                )
                yield from self._fields(target, selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    target = self.schema.get_type(fragment.type_condition.name.value)
                    yield from self._fields(target, fragment.selection_set, seen | {selection.name.value})

    def _factor(self, field: FieldNode, definition: Any) -> int:
        output = definition.type
        size = getattr((definition.extensions or {}).get(STRAWBERRY_FIELD), "metadata", {}).get(LIST_SIZE)
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
        return LIST_FACTOR if isinstance(get_nullable_type(output), GraphQLList) else 1

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


def estimate_cost(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, variables: Mapping[str, Any]
) -> int:
    """The cost of the operation a request runs (the costliest one when no name picks one)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    estimator = CostEstimator(schema, fragments, variables)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    return max((estimator.operation(o) for o in operations), default=0)


def cost_error(cost: int, max_cost: int) -> GraphQLError:
    return GraphQLError(
        f"the query may resolve about {cost:,} objects, more than the limit of {max_cost:,}; "
        "ask for smaller pages (first/last) or fewer nested lists",
        extensions={"code": "QUERY_TOO_COMPLEX", "cost": cost, "maxCost": max_cost},
    )
