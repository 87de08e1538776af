"""One check of everything a client sends, before validation and before any resolver runs.

Strings with NUL or unpaired surrogates are refused (PostgreSQL rejects NUL in
text, BSON strings must be valid UTF-8), and so are values nested deeper than any
input type of the schema needs, which would otherwise exhaust the recursion of
value coercion. So are variables holding more than MAX_VARIABLE_VALUES values in all:
coercing them runs on the event loop before any limit on the document applies (half a
million enum values kept a worker busy for a second). A document with several operations
must name the one to run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    ListValueNode,
    Node,
    ObjectValueNode,
    OperationDefinitionNode,
    StringValueNode,
    VariableNode,
)
from strawberry.extensions import SchemaExtension

from gateway.core.text import string_problem
from gateway.errors import BadUserInput

MAX_VALUE_DEPTH = 32
# Every list, object and scalar in a request's variables, keys not counted. The largest input
# the schema takes whole is an ingestion batch: 10,000 rows of eight values, about 90,000.
MAX_VARIABLE_VALUES = 100_000
# Names are short; a longer "contains" text can match nothing, yet costs the store a scan
# whose price grows with its length (a megabyte kept PostgreSQL busy past the request deadline).


class InputGuard(SchemaExtension):
    def on_parse(self) -> Iterator[None]:
        yield
        context = self.execution_context
        document = context.graphql_document
        if document is None:  # the parse failed; its error is the answer
            return
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        # `operation_name` falls back to the first operation's name; what the client sent is kept apart.
        requested = context._provided_operation_name
        if requested is None and len(operations) > 1:
            raise BadUserInput("the document has several operations; name the one to run in `operationName`")
        arguments_of = _checked_document(context.query, document)
        if _too_many_values(context.variables or {}):
            raise BadUserInput(
                f"the variables hold more than {MAX_VARIABLE_VALUES:,} values; send smaller batches",
                limit="variableValues",
            )
        for name, value in (context.variables or {}).items():
            problem = value_problem(value)
            if problem is not None:
                argument = arguments_of.get(name)
                where = f"argument {argument!r} (variable ${name})" if argument else f"variable ${name}"
                extensions = {"variable": name, **({"argument": argument} if argument else {})}
                raise BadUserInput(f"{where} {problem}", **extensions)


# The literals of a document are checked once per query text, like its parse and validation
# (resolvers/common/checks.py); only the variables differ from request to request. A refused
# document raises and is not kept, so bad documents cannot fill the cache.
_CHECKED: dict[str, dict[str, str]] = {}
_CHECKED_MAX = 512


def _checked_document(query: str | None, document: DocumentNode) -> dict[str, str]:
    if query is None:
        return check_document(document)
    arguments_of = _CHECKED.get(query)
    if arguments_of is None:
        arguments_of = check_document(document)
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.clear()
        _CHECKED[query] = arguments_of
    return arguments_of


def check_document(document: DocumentNode) -> dict[str, str]:
    """Refuse bad literals; answer which argument each variable feeds (for error messages)."""
    arguments_of: dict[str, str] = {}
    stack: list[tuple[Node, str | None, int]] = [(document, None, 0)]
    while stack:
        node, argument, depth = stack.pop()
        if isinstance(node, ArgumentNode):
            argument = node.name.value
        elif isinstance(node, ListValueNode | ObjectValueNode):
            depth += 1
            if depth > MAX_VALUE_DEPTH:
                raise _literal_error(argument, f"is nested deeper than {MAX_VALUE_DEPTH} levels")
        elif isinstance(node, StringValueNode):
            problem = string_problem(node.value)
            if problem is not None:
                raise _literal_error(argument, problem)
        elif isinstance(node, VariableNode) and argument is not None:
            arguments_of.setdefault(node.name.value, argument)
        for key in node.keys:
            child = getattr(node, key, None)
            if isinstance(child, Node):
                stack.append((child, argument, depth))
            elif isinstance(child, tuple | list):
                stack.extend((c, argument, depth) for c in child if isinstance(c, Node))
    return arguments_of


def _too_many_values(variables: dict[str, Any]) -> bool:
    """Whether the variables hold more than MAX_VARIABLE_VALUES values; stops counting past it."""
    left = MAX_VARIABLE_VALUES
    stack: list[Any] = list(variables.values())
    while stack:
        item = stack.pop()
        left -= 1
        if left < 0:
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def value_problem(value: Any) -> str | None:
    """What is wrong with a decoded JSON value (strings anywhere in it, keys included, and its depth)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            problem = string_problem(item)
            if problem is not None:
                return problem
        elif isinstance(item, dict | list):
            if depth >= MAX_VALUE_DEPTH:
                return f"is nested deeper than {MAX_VALUE_DEPTH} levels"
            if isinstance(item, dict):
                for key, child in item.items():
                    stack.append((key, depth + 1))
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
    return None


def _literal_error(argument: str | None, problem: str) -> BadUserInput:
    if argument is None:
        return BadUserInput(f"a value in the document {problem}")
    return BadUserInput(f"argument {argument!r} {problem}", argument=argument)
