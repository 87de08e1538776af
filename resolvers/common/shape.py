"""The shape of a parsed document, measured in one linear pass before graphql-core validates it.

What makes a GraphQL document expensive is not its length but what it expands
to: a fragment spread twice per level doubles per level, fields sharing a
response name are compared pairwise to be merged (graphql-core's
OverlappingFieldsCanBeMerged), each fragment definition and operation is
walked again by several rules. This module measures those quantities without
expanding anything: each selection set is summarised once (response name ->
field node -> how many times it occurs once fragments are inlined), a fragment
is summarised once however often it is spread, and multiplicities are plain
numbers, so a fragment bomb of forty levels is a few arithmetic operations
that stop at the first number over its limit.

The merge walk follows what execution does: the fields sharing a response name
in one selection set (after inlining fragments) are merged into one response
key, and their selection sets are merged into one below it. Type conditions are
ignored, so the counts are an upper bound.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    ListValueNode,
    Node,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})
CHECK_EVERY = 256  # steps between two looks at the request's time budget

# response name -> id of a field node -> how many times it occurs there once fragments are inlined
Summary = dict[str, dict[int, int]]


@dataclass(frozen=True)
class ShapeLimits:
    max_depth: int = 12
    max_aliases: int = 30
    # Fields once fragments are inlined, counted as often as they are spread, in the whole document.
    max_fields: int = 800
    # Fields with one response name in one selection set once fragments are inlined (merged into one key).
    max_same_name: int = 50
    # Pairs of such fields: graphql-core compares each pair to check that they can be merged.
    max_merges: int = 2_000
    # Different fragments spread into one selection set (graphql-core compares them pairwise).
    max_spreads: int = 30
    max_fragments: int = 60
    max_operations: int = 10
    max_directives: int = 4  # on one field, fragment or operation
    max_variables: int = 50  # variable definitions of one operation
    # Items of list literals in the whole document (each is validated and coerced on its own; lists
    # of any length are sent as variables).
    max_list_items: int = 500
    # Introspection nests deeper than data: GraphiQL's query reaches 14 through its `ofType` chain.
    max_introspection_depth: int = 20


def too_complex(message: str, limit: str, maximum: int, node: Node | None = None) -> GraphQLError:
    return GraphQLError(
        message,
        node,
        extensions={"code": "QUERY_TOO_COMPLEX", "limit": limit, "max": maximum},
    )


class _Walk:
    """One document's measurement; `tick` is called every few steps to check the time budget."""

    def __init__(self, document: DocumentNode, limits: ShapeLimits, tick: Callable[[], None]) -> None:
        self.limits = limits
        self.tick = tick
        self.steps = 0
        self.fragments: dict[str, FragmentDefinitionNode] = {}
        self.operations: list[OperationDefinitionNode] = []
        for definition in document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                self.fragments.setdefault(definition.name.value, definition)
            elif isinstance(definition, OperationDefinitionNode):
                self.operations.append(definition)
        self.fields_by_id: dict[int, FieldNode] = {}
        self.summaries: dict[int, Summary] = {}
        self.fields = 0
        self.merges = 0
        self.list_items = 0

    def step(self) -> None:
        self.steps += 1
        if self.steps % CHECK_EVERY == 0:
            self.tick()

    # The syntax: counts of definitions, directives, variables and spreads, over the whole document.

    def definitions(self, document: DocumentNode) -> None:
        limits = self.limits
        fragments = sum(isinstance(d, FragmentDefinitionNode) for d in document.definitions)
        if fragments > limits.max_fragments:
            raise too_complex(
                f"the document defines {fragments} fragments, more than the limit of {limits.max_fragments}",
                "fragments",
                limits.max_fragments,
            )
        if len(self.operations) > limits.max_operations:
            raise too_complex(
                f"the document has {len(self.operations)} operations, more than the limit of "
                f"{limits.max_operations}; send the one to run",
                "operations",
                limits.max_operations,
            )
        for operation in self.operations:
            variables = operation.variable_definitions or ()
            if len(variables) > limits.max_variables:
                raise too_complex(
                    f"operation {_name(operation)} defines {len(variables)} variables, more than the limit of "
                    f"{limits.max_variables}",
                    "variables",
                    limits.max_variables,
                    operation,
                )
            for variable in variables:
                self.directives(variable)
                self.values(variable)
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
                self.directives(definition)
                self.selections(definition.selection_set)

    def directives(self, node: Any) -> None:
        count = len(node.directives or ())
        if count > self.limits.max_directives:
            raise too_complex(
                f"a {_kind(node)} carries {count} directives, more than the limit of {self.limits.max_directives}",
                "directives",
                self.limits.max_directives,
                node,
            )

    def values(self, node: Any) -> None:
        """Count the items of list literals in a node's arguments, its directives' and its default value."""
        pending: list[Any] = [a.value for a in getattr(node, "arguments", None) or ()]
        for directive in node.directives or ():
            pending.extend(a.value for a in directive.arguments or ())
        if getattr(node, "default_value", None) is not None:
            pending.append(node.default_value)
        while pending:
            value = pending.pop()
            if isinstance(value, ListValueNode):
                self.list_items += len(value.values)
                if self.list_items > self.limits.max_list_items:
                    raise too_complex(
                        f"the document's list literals hold more than {self.limits.max_list_items} items; "
                        "send long lists as variables",
                        "listItems",
                        self.limits.max_list_items,
                        value,
                    )
                pending.extend(value.values)
            elif isinstance(value, ObjectValueNode):
                pending.extend(f.value for f in value.fields)

    def selections(self, root: SelectionSetNode) -> None:
        """Directives on every selection, and different fragments spread into each selection set."""
        pending = [root]
        while pending:
            selection_set = pending.pop()
            spread: set[str] = set()
            # Inline fragments belong to the selection set they sit in (graphql-core collects them together).
            level = list(selection_set.selections)
            while level:
                self.step()
                selection = level.pop()
                self.directives(selection)
                self.values(selection)
                if isinstance(selection, FieldNode):
                    if selection.selection_set is not None:
                        pending.append(selection.selection_set)
                elif isinstance(selection, InlineFragmentNode):
                    level.extend(selection.selection_set.selections)
                elif isinstance(selection, FragmentSpreadNode):
                    spread.add(selection.name.value)
            if len(spread) > self.limits.max_spreads:
                raise too_complex(
                    f"a selection set spreads {len(spread)} different fragments, more than the limit of "
                    f"{self.limits.max_spreads}",
                    "spreads",
                    self.limits.max_spreads,
                    selection_set,
                )

    # The expansion: summaries of selection sets, then the merged walk of each operation.

    def summary(self, root: SelectionSetNode) -> Summary:
        """The response names of a selection set with fragments inlined, each fragment's set summarised once."""
        found = self.summaries.get(id(root))
        if found is not None:
            return found
        in_progress: set[int] = set()
        stack: list[tuple[SelectionSetNode, bool]] = [(root, False)]
        while stack:
            selection_set, ready = stack.pop()
            key = id(selection_set)
            if key in self.summaries:
                continue
            if ready:
                self.summaries[key] = self.combine(selection_set)
                in_progress.discard(key)
                continue
            in_progress.add(key)
            stack.append((selection_set, True))
            for fragment in self.spread_fragments(selection_set):
                inner = id(fragment.selection_set)
                # A fragment spread inside itself is a cycle, which validation refuses; it adds nothing here.
                if inner not in self.summaries and inner not in in_progress:
                    stack.append((fragment.selection_set, False))
        return self.summaries[id(root)]

    def spread_fragments(self, selection_set: SelectionSetNode) -> Iterator[FragmentDefinitionNode]:
        for selection in self.flattened(selection_set):
            if isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:  # an unknown fragment is validation's to report
                    yield fragment

    def flattened(self, selection_set: SelectionSetNode) -> Iterator[Any]:
        """The fields and spreads of a selection set, its inline fragments opened."""
        level = list(selection_set.selections)
        while level:
            self.step()
            selection = level.pop()
            if isinstance(selection, InlineFragmentNode):
                level.extend(selection.selection_set.selections)
            else:
                yield selection

    def combine(self, selection_set: SelectionSetNode) -> Summary:
        summary: Summary = {}
        total = 0
        for selection in self.flattened(selection_set):
            if isinstance(selection, FieldNode):
                self.fields_by_id[id(selection)] = selection
                name = (selection.alias or selection.name).value
                nodes = summary.setdefault(name, {})
                nodes[id(selection)] = nodes.get(id(selection), 0) + 1
                total += 1
            else:
                fragment = self.fragments.get(selection.name.value)
                inner = self.summaries.get(id(fragment.selection_set)) if fragment is not None else None
                for name, counts in (inner or {}).items():
                    nodes = summary.setdefault(name, {})
                    for key, count in counts.items():
                        self.step()
                        nodes[key] = nodes.get(key, 0) + count
                        total += count
            # Every selection set summarised here is reached from an operation, so its own
            # counts already bound the whole: stop at the first one past a limit.
            if total > self.limits.max_fields:
                raise self.fields_error()
        for name, nodes in summary.items():
            count = sum(nodes.values())
            if count > self.limits.max_same_name:
                raise self.same_name_error(name, count, nodes)
        return summary

    def operation(self, operation: OperationDefinitionNode) -> None:
        limits = self.limits
        aliases = 0
        # A level: the selection sets merged into one response object, each with its multiplicity.
        levels: list[tuple[list[tuple[SelectionSetNode, int]], int, bool]] = [
            ([(operation.selection_set, 1)], 0, False)
        ]
        while levels:
            merged, depth, introspection = levels.pop()
            names: Summary = {}
            for selection_set, times in merged:
                for name, counts in self.summary(selection_set).items():
                    nodes = names.setdefault(name, {})
                    for key, count in counts.items():
                        self.step()
                        nodes[key] = nodes.get(key, 0) + count * times
            if names and depth > (limits.max_introspection_depth if introspection else limits.max_depth):
                maximum = limits.max_introspection_depth if introspection else limits.max_depth
                node = self.fields_by_id[next(iter(next(iter(names.values()))))]
                raise too_complex(
                    f"operation {_name(operation)} exceeds the maximum operation depth of {maximum}"
                    + (" inside introspection" if introspection else ""),
                    "depth",
                    maximum,
                    node,
                )
            for name, nodes in names.items():
                count = sum(nodes.values())
                if count > limits.max_same_name:
                    raise self.same_name_error(name, count, nodes)
                self.fields += count
                self.merges += count * (count - 1) // 2
                if self.fields > limits.max_fields:
                    raise self.fields_error()
                if self.merges > limits.max_merges:
                    raise too_complex(
                        f"fields sharing a response name need more than {limits.max_merges:,} comparisons to be "
                        f"merged ('{name}' is selected {count} times in one selection set); select each field once",
                        "merges",
                        limits.max_merges,
                        self.fields_by_id[next(iter(nodes))],
                    )
                below: list[tuple[SelectionSetNode, int]] = []
                inside = introspection
                for key, times in nodes.items():
                    field = self.fields_by_id[key]
                    if field.alias is not None:
                        aliases += times
                    if field.selection_set is not None:
                        below.append((field.selection_set, times))
                        inside = inside or field.name.value in INTROSPECTION_ROOTS
                if aliases > limits.max_aliases:
                    raise too_complex(
                        f"more than {limits.max_aliases} aliases found in operation {_name(operation)} "
                        f"(counting each spread of a fragment). Allowed: {limits.max_aliases}",
                        "aliases",
                        limits.max_aliases,
                        self.fields_by_id[key],
                    )
                if below:
                    levels.append((below, depth + 1, inside))

    def fields_error(self) -> GraphQLError:
        maximum = self.limits.max_fields
        return too_complex(
            f"the document selects more than {maximum:,} fields once its fragments are inlined "
            "(each spread counts); ask for fewer fields or split the query",
            "fields",
            maximum,
        )

    def same_name_error(self, name: str, count: int, nodes: dict[int, int]) -> GraphQLError:
        maximum = self.limits.max_same_name
        return too_complex(
            f"'{name}' is selected {count:,} times in one selection set once fragments are inlined, more than "
            f"the limit of {maximum}; select each field once",
            "sameName",
            maximum,
            self.fields_by_id[next(iter(nodes))],
        )


def check_shape(document: DocumentNode, limits: ShapeLimits, tick: Callable[[], None] = lambda: None) -> None:
    """Raise a QUERY_TOO_COMPLEX GraphQLError at the first limit the document passes."""
    walk = _Walk(document, limits, tick)
    walk.definitions(document)
    for operation in walk.operations:
        walk.operation(operation)


def _name(operation: OperationDefinitionNode) -> str:
    return f"'{operation.name.value}'" if operation.name else "(anonymous)"


def _kind(node: Any) -> str:
    kinds = {
        "field": "field",
        "inline_fragment": "inline fragment",
        "fragment_spread": "fragment spread",
        "fragment_definition": "fragment definition",
        "operation_definition": "operation",
        "variable_definition": "variable definition",
    }
    return kinds.get(node.kind, "node")
