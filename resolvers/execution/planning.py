"""Plans per document, compiled as they are built: the cache of one operation's root plans, and
object selections planned (and compiled) on first use.

Kept apart from plan.py because compiling builds on plan.py's types (compiled.py imports them);
this module imports both.
"""

from __future__ import annotations

from typing import Any

from graphql import DirectiveNode, DocumentNode, GraphQLObjectType, GraphQLSchema, OperationDefinitionNode, VariableNode
from graphql.execution.values import VariableValues

from resolvers.execution.compiled import compile_plan
from resolvers.execution.plan import Allowance, Completion, FieldPlan, SelectionPlan, Unplannable, walk
from resolvers.internals import FragmentDetails, collect_fields, collect_subfields


class DocumentPlan:
    """The cached plans of one operation of one document."""

    def __init__(self, document: DocumentNode, operation: OperationDefinitionNode) -> None:
        self.operation = operation
        self.directive_variables = _directive_variables(document)
        self.roots: dict[tuple[Any, ...], SelectionPlan] = {}
        self.allowance = Allowance()

    def root(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDetails],
        variables: VariableValues,
        root_type: GraphQLObjectType,
    ) -> SelectionPlan:
        key = tuple(repr(variables.coerced.get(name)) for name in self.directive_variables)
        plan = self.roots.get(key)
        if plan is None:
            grouped, defers, _ = collect_fields(schema, fragments, variables, root_type, self.operation)
            if defers:
                raise Unplannable("@defer")
            plan = SelectionPlan(schema, root_type, grouped)
            _compile(plan, schema, fragments, variables, self.operation, self.allowance)
            if len(self.roots) < 16:
                self.roots[key] = plan
        return plan


def object_plan(
    schema: GraphQLSchema,
    fragments: dict[str, FragmentDetails],
    variables: VariableValues,
    operation: OperationDefinitionNode,
    field: FieldPlan,
    completion: Completion,
    object_type: GraphQLObjectType,
    allowance: Allowance,
) -> SelectionPlan:
    plan = completion.plans.get(object_type.name)
    if plan is None:
        grouped, _, _ = collect_subfields(schema, fragments, variables, operation, object_type, field.details)
        plan = completion.plans[object_type.name] = SelectionPlan(schema, object_type, grouped)
        _compile(plan, schema, fragments, variables, operation, allowance)
    return plan


def _compile(
    plan: SelectionPlan,
    schema: GraphQLSchema,
    fragments: dict[str, FragmentDetails],
    variables: VariableValues,
    operation: OperationDefinitionNode,
    allowance: Allowance,
) -> None:
    def subplan(field: FieldPlan, completion: Completion, object_type: GraphQLObjectType) -> SelectionPlan:
        return object_plan(schema, fragments, variables, operation, field, completion, object_type, allowance)

    compile_plan(plan, subplan, allowance)


def _directive_variables(document: DocumentNode) -> tuple[str, ...]:
    names: set[str] = set()
    for node in walk(document):
        if isinstance(node, DirectiveNode):
            if node.name.value in ("defer", "stream"):
                raise Unplannable("incremental delivery")
            for argument in node.arguments or ():
                if isinstance(argument.value, VariableNode):
                    names.add(argument.value.name.value)
    return tuple(sorted(names))
