"""Plans of the documents run by the planned executor, kept per schema and text; releasing an executor."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from graphql import DocumentNode, Executor, GraphQLSchema

from resolvers.execution.plan import Unplannable
from resolvers.execution.planning import DocumentPlan
from resolvers.internals import StrawberryGraphQLCoreExecutionContext

# Plans hold the schema's own types and resolvers, so they are kept per schema.
_documents: OrderedDict[tuple[GraphQLSchema, str, str | None], DocumentPlan | None] = OrderedDict()
MAX_DOCUMENTS = 512
# A plan and the document it holds take about 150 bytes per character of the text: the plans
# kept are bounded by the total length of their texts too (about 150 MB at most).
MAX_DOCUMENT_CHARS = 1_000_000
_kept_chars = [0]


def document_plan(text: str, document: DocumentNode, executor: Executor[Any]) -> DocumentPlan | None:
    """The plan of this document's operation, or None when it is left to the standard executor."""
    key = (executor.schema, text, executor.operation.name.value if executor.operation.name else None)
    if key in _documents:
        _documents.move_to_end(key)
        return _documents[key]
    try:
        plan: DocumentPlan | None = DocumentPlan(document, executor.operation)
    except Unplannable:
        plan = None
    _documents[key] = plan
    _kept_chars[0] += len(text)
    while _documents and (len(_documents) > MAX_DOCUMENTS or _kept_chars[0] > MAX_DOCUMENT_CHARS):
        (_, dropped, _), _ = _documents.popitem(last=False)
        _kept_chars[0] -= len(dropped)
    return plan


def release(executor: Executor[Any]) -> None:
    """Break the reference cycle a graphql-core executor makes, once it has answered.

    It holds helpers bound to itself, a cycle through which the request's context
    (and everything it holds) outlived the request until a garbage collection.
    Without it a request's objects die by reference counting (see `gateway/core/runtime.py`).
    """
    vars(executor).pop("async_helpers", None)


class RequestExecutor(StrawberryGraphQLCoreExecutionContext):
    """strawberry's graphql-core executor, released once it has built its response (mutations, fallbacks)."""

    def build_response(self, data: dict[str, Any] | None) -> Any:
        try:
            return super().build_response(data)
        finally:
            release(self)
