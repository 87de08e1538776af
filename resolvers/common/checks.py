"""Parsing, validation and the request limits, done once per distinct document.

Strawberry's limiter extensions (depth, aliases) add freshly built validation
rule classes on every request, so a validation cache keyed on the rules never
hits and every request re-parses and re-validates its document. Here the rules
are built once per schema and the results are cached by the query text: a
client that sends the same document again pays a dictionary lookup. The
estimated cost depends on the page sizes and date ranges passed as variables,
so it is cached by the text together with the integer and short string variables.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse, specified_rules
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter, SchemaExtension
from strawberry.schema.schema import validate_document

from gateway.context import RequestContext
from resolvers.common.cost import cost_error, estimate_cost

CACHE_SIZE = 512  # distinct documents kept per process; clients send few, attackers many


def document_checks(
    *, max_depth: int, max_aliases: int, max_tokens: int, max_cost: int, introspection: bool
) -> type[SchemaExtension]:
    """An extension that parses, validates and checks the limits with per-document caches."""
    rules = (
        *specified_rules,
        *QueryDepthLimiter(max_depth=max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules,
        *(() if introspection else (NoSchemaIntrospectionCustomRule,)),
    )

    # Parse errors raise, and lru_cache keeps no exceptions: a bad document is
    # refused afresh each time, and cannot fill the cache.
    @lru_cache(maxsize=CACHE_SIZE)
    def parsed(query: str) -> DocumentNode:
        return parse(query, max_tokens=max_tokens)

    @lru_cache(maxsize=CACHE_SIZE)
    def validated(schema: GraphQLSchema, query: str) -> tuple[GraphQLError, ...]:
        return tuple(validate_document(schema, parsed(query), rules))

    @lru_cache(maxsize=CACHE_SIZE)
    def cost(schema: GraphQLSchema, query: str, operation: str | None, sizes: tuple[tuple[str, int | str], ...]) -> int:
        return estimate_cost(schema, parsed(query), operation, dict(sizes))

    class DocumentChecks(SchemaExtension):
        def on_parse(self) -> Iterator[None]:
            query = self.execution_context.query
            if query is not None and self.execution_context.graphql_document is None:
                self.execution_context.graphql_document = parsed(query)
            yield

        def on_validate(self) -> Iterator[None]:
            context = self.execution_context
            if context.query is not None:
                schema = context.schema._schema
                errors = list(validated(schema, context.query))
                if not errors:
                    estimate = cost(schema, context.query, context.operation_name, _sizes(context.variables))
                    if isinstance(context.context, RequestContext):
                        context.context.cost = estimate
                    if estimate > max_cost:
                        errors = [cost_error(estimate, max_cost)]
                context.pre_execution_errors = errors
            yield

    return DocumentChecks


MAX_COST_STRING = 32  # dates and enum values are shorter; longer strings never change the cost


def _sizes(variables: Mapping[str, Any] | None) -> tuple[tuple[str, int | str], ...]:
    # Page sizes (integers), date ranges and enum values (short strings) can change the cost;
    # the rest of the variables cannot. A missing one is estimated at its largest.
    if not variables:
        return ()
    return tuple(
        sorted(
            (k, v)
            for k, v in variables.items()
            if (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, str) and len(v) <= MAX_COST_STRING)
        )
    )
