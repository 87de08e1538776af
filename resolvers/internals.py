"""What the schema takes from strawberry and graphql-core beyond their public API, each named once.

The planned executor (and the document checks) reach below both libraries' public surface: into
graphql-core's field collection and executor, and into how strawberry builds its GraphQL schema.
A new release may move any of these, which is why pyproject holds both below their next minor.
tests/test_internals.py checks every one against the installed releases and names the one that
went missing; import them from here, never from the libraries' private modules directly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

# graphql-core: the executor's own field collection, so response keys and their order are its own
from graphql.execution.collect_fields import FieldDetails, FragmentDetails, collect_fields, collect_subfields

# graphql-core: the error its executor raises for a value of the wrong object type
from graphql.execution.executor import invalid_return_type_error

# graphql-core: which attributes of each AST node hold child nodes
from graphql.language.ast import QUERY_DOCUMENT_KEYS

# graphql-core: the overlapping-fields rule's own complexity budget (a module attribute it reads)
from graphql.validation.rules import overlapping_fields_can_be_merged

# strawberry: its executor class, argument conversion, validation with its cache, and the cast marker
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext, validate_document
from strawberry.types.arguments import convert_arguments
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE

if TYPE_CHECKING:
    from graphql import GraphQLSchema
    from strawberry import Schema

__all__ = [
    "GENERATED_IS_TYPE_OF_MODULE",
    "QUERY_DOCUMENT_KEYS",
    "STRAWBERRY_DEFINITION",
    "TYPE_CAST_ATTRIBUTE",
    "FieldDetails",
    "FragmentDetails",
    "StrawberryGraphQLCoreExecutionContext",
    "collect_fields",
    "collect_subfields",
    "convert_arguments",
    "generated_is_type_of",
    "graphql_schema",
    "handles_exceptions",
    "invalid_return_type_error",
    "overlapping_fields_can_be_merged",
    "schema_converter",
    "strawberry_definition",
    "validate_document",
]

# The key under which strawberry keeps its own definition in a GraphQL type's or field's extensions.
STRAWBERRY_DEFINITION = "strawberry-definition"
# The module of the `is_type_of` strawberry generates (a plain class check the executor can inline).
GENERATED_IS_TYPE_OF_MODULE = "strawberry.schema.schema_converter"


def graphql_schema(schema: Schema) -> GraphQLSchema:
    """The graphql-core schema a strawberry schema built."""
    built: GraphQLSchema = schema._schema
    return built


def schema_converter(schema: GraphQLSchema) -> Any:
    """The strawberry converter that built `schema` (its config and scalar registry); None if strawberry did not."""
    return getattr(getattr(schema, "_strawberry_schema", None), "schema_converter", None)


def handles_exceptions(converter: Any) -> bool:
    """Whether the schema has exception handlers configured (its resolvers' calls are then wrapped)."""
    return bool(getattr(converter, "_exception_handler_specs", True))


def strawberry_definition(extensions: Mapping[str, Any] | None) -> Any | None:
    """Strawberry's definition (type or field) in a GraphQL type's or field's extensions."""
    return (extensions or {}).get(STRAWBERRY_DEFINITION)


def generated_is_type_of(is_type_of: Callable[..., Any]) -> bool:
    """Whether strawberry generated this `is_type_of` (a class check) rather than the schema's author."""
    return getattr(is_type_of, "__module__", "") == GENERATED_IS_TYPE_OF_MODULE
