"""Hooks planned execution into strawberry, after parsing, validation and the query limits.

Strawberry skips graphql-core's `execute` when an extension has set the
result in `on_execute`; queries the plan cannot take (introspection, `@defer`,
bad variables) and every mutation run on the standard executor.

The executor is chosen per request by `settings.executor`:
`planned` (default), `standard`, or `compare`, which answers with the
standard executor and also runs the planned path on a shadow context (own
loaders, own store trace), reporting any difference as an `INTERNAL` error
and an ERROR log.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from graphql import ExecutionResult, GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from gateway.core.context import RequestContext
from gateway.errors import GatewayError, StoreUnavailable
from gateway.stores.tracing import StoreTrace, current_trace
from resolvers.execution.runner import execute_planned
from resolvers.internals import graphql_schema

log = logging.getLogger("omnify.graphql")

MISMATCHES: list[str] = []
"""Each difference found in compare mode (query, variables, both answers), for tests to assert on."""


class PlannedExecution(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        ec = self.execution_context
        context = ec.context
        mode = context.settings.executor if isinstance(context, RequestContext) else "standard"
        document = ec.graphql_document
        is_query = mode != "standard" and document is not None and ec.query is not None and _is_query(ec)
        planned: ExecutionResult | None = None
        if is_query and document is not None and ec.query is not None:
            run_context = context
            token = None
            if mode == "compare":
                context.one_snapshot()
                run_context = dataclasses.replace(context, _loaders={}, trace=StoreTrace())
                token = current_trace.set(run_context.trace)
            strawberry_schema = ec.schema
            try:
                planned = await execute_planned(
                    graphql_schema(strawberry_schema),
                    ec.query,
                    document,
                    ec.variables,
                    ec.operation_name,
                    run_context,
                    ec.root_value,
                    strawberry_schema.execution_context_class,  # type: ignore[attr-defined]
                    operation_extensions=ec.operation_extensions,
                )
            except Exception:
                # A bug here must not cost the answer: the standard executor still gives it.
                log.exception("planned execution failed; answering with the standard executor")
                if mode == "compare":
                    MISMATCHES.append(f"{ec.query}\nplanned execution raised (see the log)")
                planned = None
            finally:
                if token is not None:
                    current_trace.reset(token)
            if planned is not None:
                sort_errors(planned)
                if mode == "planned":
                    ec.result = planned
        yield
        result = ec.result
        if isinstance(result, ExecutionResult) and result is not planned:
            sort_errors(result)
            if mode == "compare" and planned is not None:
                _compare(ec.query or "", ec.variables, result, planned)


def _is_query(ec: Any) -> bool:
    try:
        return bool(ec.operation_type is OperationType.QUERY)
    except RuntimeError:
        return False


def sort_errors(result: ExecutionResult) -> None:
    """Field errors in path order: concurrent resolvers fail in no fixed order."""
    if result.errors:
        result.errors.sort(key=lambda e: [(0, k, "") if isinstance(k, int) else (1, 0, k) for k in e.path or ()])


def encoded(result: ExecutionResult) -> str:
    errors = [
        {**e.formatted, "original": type(e.original_error).__name__ if e.original_error else None}
        for e in result.errors or ()
    ]
    return json.dumps({"data": result.data, "errors": errors}, sort_keys=False, default=repr)


def _compare(query: str, variables: Any, standard: ExecutionResult, planned: ExecutionResult) -> None:
    want, got = encoded(standard), encoded(planned)
    if want == got:
        return
    if _store_failed(standard) or _store_failed(planned):
        # The two runs follow each other, so a store that hangs or comes back between them is
        # seen in two states; outages are compared where the test holds the store's state still.
        return
    MISMATCHES.append(f"{query}\nvariables {variables}\nstandard {want[:3000]}\nplanned  {got[:3000]}")
    log.error(
        "planned execution differs from the standard executor",
        extra={"query": query, "variables": variables, "standard": want[:4000], "planned": got[:4000]},
    )
    message = "planned execution differs from the standard executor"
    standard.errors = [*(standard.errors or []), GraphQLError(message, original_error=GatewayError(message))]


def _store_failed(result: ExecutionResult) -> bool:
    return any(isinstance(e.original_error, StoreUnavailable) for e in result.errors or ())
