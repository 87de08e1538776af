"""Parsing, validation and the request limits, done once per distinct document, within a time budget.

A document goes through, in order: its length (before anything reads it),
parsing (at most `max_tokens` tokens), the linear measure of its shape
(`resolvers.common.shape`: depth, aliases, fields once fragments are inlined,
fields merged under one response name, fragments, directives, variables),
graphql-core's validation, and the estimated cost (`resolvers.common.cost`).
The shape limits keep every later step small; the time budget
(`resolvers.common.budget`) is checked between the steps and inside them as
the backstop, and answers QUERY_TOO_COMPLEX when it runs out.

What is learnt is kept by a digest of the text: the parsed and validated
documents that passed, the costs by the variables that can change them, and
the documents refused (with their errors). Only documents that passed fill the
first caches, so a stream of bad documents cannot push good ones out; a
refused document is answered from memory when it comes again, at the price of
a dictionary lookup. A refusal by wall-clock time alone is not remembered: it
may only mean that the machine was busy.

Strawberry's limiter extensions are not used: they expand fragment spreads
without memory (a fragment spread twice per level doubles per level) and add
freshly built rule classes on every request.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    parse,
    specified_rules,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from gateway.core.context import RequestContext
from resolvers.common.budget import Budget, BudgetExceeded
from resolvers.common.cost import cost_error, estimate_cost
from resolvers.common.shape import ShapeLimits, check_shape, too_complex
from resolvers.internals import graphql_schema, overlapping_fields_can_be_merged, validate_document

CACHE_SIZE = 512  # distinct documents kept per process; clients send few, attackers many
# A parsed document takes about 100 bytes per character of its text: the parsed documents kept
# are bounded by their total length too (about 100 MB at most, 1,000 documents of 1,000 characters).
CACHED_CHARS = 1_000_000
REFUSED_SIZE = 1024  # refused documents remembered: a digest and a few short errors each
# graphql-core meters the work of OverlappingFieldsCanBeMerged (the one rule whose work grows
# faster than the document) and aborts validation past this many units. The shape limits keep
# every document far below it (a document at `max_merges` spends about 25,000); this is the
# backstop, at about a tenth of a second, instead of graphql-core's default of 500,000 (1.7 s).
VALIDATION_COMPLEXITY = 50_000
ABORTED = "Validation aborted."
MAX_COST_STRING = 32  # dates and enum values are shorter; longer strings never change the cost

overlapping_fields_can_be_merged.MAX_COMPLEXITY_BUDGET = VALIDATION_COMPLEXITY

K = TypeVar("K")
V = TypeVar("V")


class Lru(Generic[K, V]):
    """Least recently used entries go first, past `size` entries or `max_weight` in all."""

    def __init__(self, size: int, max_weight: int | None = None) -> None:
        self.size = size
        self.max_weight = max_weight
        self.weight = 0
        self.items: OrderedDict[K, tuple[V, int]] = OrderedDict()

    def get(self, key: K) -> V | None:
        found = self.items.get(key)
        if found is None:
            return None
        self.items.move_to_end(key)
        return found[0]

    def put(self, key: K, value: V, weight: int = 0) -> None:
        previous = self.items.pop(key, None)
        self.weight += weight - (previous[1] if previous else 0)
        self.items[key] = (value, weight)
        while self.items and (
            len(self.items) > self.size or (self.max_weight is not None and self.weight > self.max_weight)
        ):
            _, (_, dropped) = self.items.popitem(last=False)
            self.weight -= dropped


@dataclass(frozen=True)
class Refusal:
    errors: tuple[GraphQLError, ...]
    # For a document refused by validation: its operations (type and name) on an empty
    # selection, so that a repeat is told apart by operation name and type as the first one was.
    stand_in: DocumentNode | None = None


@dataclass(frozen=True)
class DocumentLimits:
    shape: ShapeLimits
    max_tokens: int
    max_chars: int
    max_cost: int
    introspection: bool
    budget_s: float


@dataclass(frozen=True)
class Caches:
    """What one schema's checks remember (see the module's docstring), and the rules they validate with."""

    rules: tuple[type[ValidationRule], ...]
    parsed: Lru[bytes, DocumentNode]  # documents that passed validation
    costs: Lru[tuple[bytes, str | None, tuple[tuple[str, int | str], ...]], int]
    refused: Lru[bytes, Refusal]


class DocumentChecks(SchemaExtension):
    """Parses, validates and checks the limits; `document_checks` makes one per schema, with its caches."""

    limits: ClassVar[DocumentLimits]
    caches: ClassVar[Caches]
    digest = b""
    budget: Budget
    remembered: tuple[GraphQLError, ...] = ()
    fresh = False  # parsed by this request: validation still to run

    def on_parse(self) -> Iterator[None]:
        query = self.execution_context.query
        if query is not None and self.execution_context.graphql_document is None:
            self.budget = Budget(self.limits.budget_s)
            self.execution_context.graphql_document = self.document(query)
        yield

    def document(self, query: str) -> DocumentNode:
        check_length(query, self.limits.max_chars)
        self.digest = hashlib.blake2b(query.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        known = self.caches.parsed.get(self.digest)
        if known is not None:
            return known
        refusal = self.caches.refused.get(self.digest)
        if refusal is not None:
            if refusal.stand_in is None:
                raise detached(refusal.errors[0])
            self.remembered = refusal.errors
            return refusal.stand_in
        try:
            with self.budget.phase():
                document = parse(query, max_tokens=self.limits.max_tokens)
            with self.budget.phase():
                check_shape(document, self.limits.shape, self.budget.check)
        except GraphQLError as error:
            self.refuse((error,))
            raise
        except BudgetExceeded as exceeded:
            raise self.over_budget(exceeded) from None
        self.fresh = True
        return document

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None:
            if not self.digest:  # parsed before this extension ran: validated all the same, not cached
                self.budget = Budget(self.limits.budget_s)
                self.fresh = True
            context.pre_execution_errors = list(self.remembered) or self.validate()
        yield

    def validate(self) -> list[GraphQLError]:
        context = self.execution_context
        schema = graphql_schema(context.schema)
        document = context.graphql_document
        assert document is not None
        try:
            if self.fresh:
                with self.budget.phase():
                    errors = validate_document(schema, document, (*self.caches.rules, budget_rule(self.budget)))
                if errors:
                    errors = [complexity_error() if e.message == ABORTED else e for e in errors]
                    self.refuse(tuple(errors), stand_in(document))
                    return errors
                if self.digest:
                    self.caches.parsed.put(self.digest, document, len(context.query or ""))
            key = (self.digest, context.operation_name, _sizes(context.variables))
            estimate = self.caches.costs.get(key) if self.digest else None
            if estimate is None:
                with self.budget.phase():
                    variables = dict(key[2])
                    estimate = estimate_cost(
                        schema, document, context.operation_name, variables, self.limits.max_cost, self.budget.check
                    )
                if self.digest:
                    self.caches.costs.put(key, estimate)
        except BudgetExceeded as exceeded:
            return [self.over_budget(exceeded)]
        if estimate > self.limits.max_cost:
            charge_analysis(context.context, self.budget)  # not run: what pricing took, not its price
            return [cost_error(estimate, self.limits.max_cost)]
        if isinstance(context.context, RequestContext):
            context.context.cost = estimate
        return []

    def over_budget(self, exceeded: BudgetExceeded) -> GraphQLError:
        error = exceeded.error()
        charge_analysis(self.execution_context.context, self.budget)
        if exceeded.by_work:
            self.refuse((error,))
        return error

    def refuse(self, errors: tuple[GraphQLError, ...], document: DocumentNode | None = None) -> None:
        charge_analysis(self.execution_context.context, self.budget)
        if self.digest:
            self.caches.refused.put(self.digest, Refusal(tuple(detached(e) for e in errors), document))


def document_checks(limits: DocumentLimits) -> type[SchemaExtension]:
    """An extension that parses, validates and checks the limits with per-document caches."""
    rules = (*specified_rules, *(() if limits.introspection else (NoSchemaIntrospectionCustomRule,)))

    class Checks(DocumentChecks):
        pass

    Checks.limits = limits
    Checks.caches = Caches(rules, Lru(CACHE_SIZE, CACHED_CHARS), Lru(CACHE_SIZE), Lru(REFUSED_SIZE))
    return Checks


POINTS_PER_CPU_MS = 20
"""What a refused document is charged, beyond the base, per millisecond of processor time its
parse, validation and pricing took: a refusal costs what it cost the worker (documents made
unique defeat the memory of refusals, so each one is analysed afresh)."""


def check_length(query: str, max_chars: int) -> None:
    if len(query) > max_chars:
        message = f"the document is {len(query):,} characters long, more than the limit of {max_chars:,}"
        raise too_complex(message, "characters", max_chars)


def charge_analysis(context: object, budget: Budget | None) -> None:
    """Price a refused request by the analysis it took (the rate limiter charges base + `cost`)."""
    if isinstance(context, RequestContext) and budget is not None:
        context.cost = max(context.cost, round(budget.used_cpu * 1000 * POINTS_PER_CPU_MS))


def budget_rule(budget: Budget) -> type[ValidationRule]:
    """A validation rule that only looks at the clock, at each selection set and definition."""

    class BudgetRule(ValidationRule):
        def enter_selection_set(self, *_: Any) -> None:
            budget.check()

        enter_fragment_definition = enter_operation_definition = enter_selection_set
        # An unknown type, field or argument name costs a "did you mean" search over the schema's
        # names: checked at each of them, a document of many unknown names stops after one.
        enter_variable_definition = enter_field = enter_argument = enter_named_type = enter_selection_set

    return BudgetRule


def complexity_error() -> GraphQLError:
    return GraphQLError(
        "validating the document takes too much work (fields sharing response names across fragments are "
        "compared pairwise to be merged); select each field once",
        extensions={"code": "QUERY_TOO_COMPLEX", "limit": "validation"},
    )


def detached(error: GraphQLError) -> GraphQLError:
    """A copy of an error that keeps its message, locations and code but not the document it came from."""
    copy = GraphQLError(error.message, extensions=error.extensions)
    if error.locations is not None:
        copy.locations = error.locations
    return copy


def stand_in(document: DocumentNode) -> DocumentNode:
    typename = SelectionSetNode(selections=(FieldNode(name=NameNode(value="__typename")),))
    return DocumentNode(
        definitions=tuple(
            OperationDefinitionNode(
                operation=d.operation,
                name=NameNode(value=d.name.value) if d.name else None,
                variable_definitions=(),
                directives=(),
                selection_set=typename,
            )
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode)
        )
    )


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
