"""The plan of a query document: per selection set, which field reads what and how its value completes.

A plan is built once per (document, operation, values of the variables used by
`@skip`/`@include`) and reused by every request with that key. Field
collection (fragments, aliases, merged fields, directives) is graphql-core's
own `collect_fields`/`collect_subfields`, so the response keys and their order
are the standard executor's. Object selections below the root are planned
lazily, the first time a value of that object type reaches them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from graphql import (
    FieldNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    Node,
    VariableNode,
    get_argument_values,
    is_leaf_type,
)

from resolvers.common.objects import Batch, batch_of
from resolvers.common.scalars import TEXT_SERIALIZERS
from resolvers.internals import (
    QUERY_DOCUMENT_KEYS,
    FieldDetails,
    convert_arguments,
    handles_exceptions,
    schema_converter,
    strawberry_definition,
)

# How a field gets its value.
TYPENAME, ATTRIBUTE, RESOLVER, DIRECT = 0, 1, 2, 3
# How a value completes.
LEAF, LIST, OBJECT, ABSTRACT = 0, 1, 2, 3

# A compiled selection: (source, its response dict[, the runner's list for items left to the general path]).
Fast = Callable[..., bool]
_STANDARD = {t.name: t.coerce_output_value for t in (GraphQLString, GraphQLID, GraphQLBoolean)}


# Compiling a selection plan's function costs Python's `compile`, about 0.1 ms per field: a
# document never seen before compiles this many fields at most, and the rest of its plans
# run on the general path (sources compiled once are reused by any document, see compiled.py).
COMPILED_FIELDS = 200


class Unplannable(Exception):
    """The document uses something the planned path leaves to the standard executor."""


class Allowance:
    """How many more fields one document's plans may compile."""

    __slots__ = ("fields",)

    def __init__(self, fields: int = COMPILED_FIELDS) -> None:
        self.fields = fields


class Completion:
    """How a resolved value of one output type becomes response data."""

    __slots__ = ("coerce", "identity", "item", "kind", "memo", "nullable", "plans", "type")

    def __init__(self, output_type: GraphQLOutputType) -> None:
        self.nullable = not isinstance(output_type, GraphQLNonNull)
        named: Any = output_type.of_type if isinstance(output_type, GraphQLNonNull) else output_type
        self.type = named
        self.item: Completion | None = None
        self.coerce: Any = None
        # Leaf shortcuts with the same output as `coerce`: values of this exact
        # Python type pass unchanged (graphql-core returns str for String and ID
        # and bool for Boolean as they are); enum outputs are remembered per member.
        self.identity: type | None = None
        self.memo: dict[Any, Any] | None = None
        # Selection plans of the object types values here can have, by type name.
        self.plans: dict[str, SelectionPlan] = {}
        if isinstance(named, GraphQLList):
            self.kind = LIST
            self.item = Completion(named.of_type)
        elif is_leaf_type(named):
            self.kind = LEAF
            self.coerce = named.coerce_output_value
            if isinstance(named, GraphQLEnumType):
                self.memo = {}
            elif (
                named.name in ("String", "ID") and named.coerce_output_value is _STANDARD[named.name]
            ) or named.coerce_output_value in TEXT_SERIALIZERS:
                self.identity = str
            elif named.name == "Boolean" and named.coerce_output_value is _STANDARD["Boolean"]:
                self.identity = bool
        elif isinstance(named, GraphQLObjectType):
            self.kind = OBJECT
        else:
            self.kind = ABSTRACT


class FieldPlan:
    """One response key of a selection set."""

    __slots__ = (
        "args",
        "attribute",
        "batch",
        "batch_reads",
        "batch_rows",
        "call",
        "completion",
        "definition",
        "details",
        "key",
        "kind",
        "name",
        "nodes",
        "parent_type",
        "resolve",
        "written",
    )

    def __init__(
        self,
        schema: GraphQLSchema,
        key: str,
        parent_type: GraphQLObjectType,
        definition: GraphQLField | None,
        details: list[FieldDetails],
    ) -> None:
        node = details[0].node
        self.key = key
        self.name = node.name.value
        self.parent_type = parent_type
        self.details = details
        self.nodes: list[FieldNode] = [d.node for d in details]
        self.definition = definition
        self.attribute = ""
        self.resolve: Any = None
        self.call: DirectCall | None = None
        # A resolver over a whole level of objects (`resolvers.common.objects.batched_field`), for a DIRECT field,
        # and when it answers rows, the row builder of the field's object type.
        self.batch: Batch | None = None
        self.batch_rows: Callable[[Any], Any] | None = None
        self.batch_reads: tuple[str, ...] | None = None  # the attributes of the objects the batch reads
        # The statement writing this field's whole answer in PostgreSQL, when it has one (see in_postgres.py).
        self.written: Any = None
        # Arguments: a dict when they are literals (coerced once here), an
        # exception when that coercion failed, None when they use variables.
        self.args: dict[str, Any] | Exception | None = {}
        if definition is None:  # __typename
            self.kind = TYPENAME
            self.completion = Completion(GraphQLNonNull(GraphQLString))
            return
        self.completion = Completion(definition.type)
        strawberry_field = strawberry_definition(definition.extensions)
        resolve = definition.resolve
        if (
            getattr(resolve, "_is_default", False)
            and strawberry_field is not None
            and strawberry_field.default_resolver is getattr
        ):
            # A plain attribute: strawberry's wrapper would only call getattr.
            self.kind = ATTRIBUTE
            self.attribute = strawberry_field.python_name
        elif strawberry_field is not None and DirectCall.possible(schema, strawberry_field):
            self.kind = DIRECT
            self.call = DirectCall(schema, strawberry_field)
            batched = batch_of(self.call.resolver)
            if batched is not None and (batched.rows is None or self.completion.kind == OBJECT):
                self.batch, self.batch_rows, self.batch_reads = batched.call, batched.rows, batched.reads
        elif resolve is not None:
            self.kind = RESOLVER
            self.resolve = resolve
        else:
            raise Unplannable(f"{parent_type.name}.{self.name} has no resolver")
        if node.arguments or definition.args:
            self.args = None if _uses_variables(node) else _static_arguments(definition, node)


class DirectCall:
    """A strawberry resolver called as its wrapper would call it, with the wrapper's work split.

    Per call, strawberry's wrapper converts the coerced arguments into Python
    values (input types, enums), then passes the source as `self`/`root`/`parent`
    and an `Info` when the resolver asks for them. The arguments are the same
    for every object of a field in one request, so they are converted once per
    request here (resolvers treat them as read-only); the rest happens per call.
    Only for fields without field extensions in a schema without exception
    handlers, where the wrapper does nothing else.
    """

    __slots__ = (
        "config",
        "field",
        "info_class",
        "info_name",
        "literal",
        "pass_self",
        "registry",
        "resolver",
        "source_names",
    )

    def __init__(self, schema: GraphQLSchema, field: Any) -> None:
        converter = schema_converter(schema)
        resolver = field.base_resolver
        self.field = field
        self.resolver = resolver.wrapped_func
        self.config = converter.config
        self.registry = converter.scalar_registry
        self.info_class = converter.config.info_class
        self.pass_self = resolver.self_parameter is not None
        self.source_names = [p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p is not None]
        self.info_name = resolver.info_parameter.name if resolver.info_parameter is not None else None
        # The converted arguments, when they are literals of immutable values (the same in every request).
        self.literal: dict[str, Any] | None = None

    @staticmethod
    def possible(schema: GraphQLSchema, field: Any) -> bool:
        converter = schema_converter(schema)
        return (
            converter is not None
            and not handles_exceptions(converter)
            and field.base_resolver is not None
            and callable(field.base_resolver.wrapped_func)
            and not field.extensions
            and not field.is_subscription
        )

    def convert(self, arguments: dict[str, Any], info: Any) -> dict[str, Any]:
        converted: dict[str, Any] = convert_arguments(
            arguments, self.field.arguments, scalar_registry=self.registry, config=self.config, info=info
        )
        return converted


class SelectionPlan:
    """The fields of one selection set on one object type, in response order.

    `fast` is the compiled function that writes the fields it can complete
    alone (see `compiled.py`), `general` the fields left to the runner's general
    path: all of them when there is no `fast`.
    """

    __slots__ = (
        "deferred",
        "exact_class",
        "fast",
        "fields",
        "from_source",
        "general",
        "row_fields",
        "type",
        "type_name",
    )

    def __init__(self, schema: GraphQLSchema, object_type: GraphQLObjectType, grouped: Mapping[str, list[Any]]):
        self.type = object_type
        self.type_name = object_type.name
        self.fields: list[FieldPlan] = []
        for key, details in grouped.items():
            name = details[0].node.name.value
            if name == "__typename":
                self.fields.append(FieldPlan(schema, key, object_type, None, details))
                continue
            if name.startswith("__"):
                raise Unplannable("introspection")
            definition = object_type.fields.get(name)
            if definition is not None:  # unknown fields are skipped, as graphql-core does
                self.fields.append(FieldPlan(schema, key, object_type, definition, details))
        self.fast: Fast | None = None
        self.general: list[FieldPlan] = self.fields
        # The class whose instances pass the type's `is_type_of` without calling it (see compiled.py).
        self.exact_class: type | None = None
        # On a connection whose edges are written from rows: the row fields they read (see compiled.py).
        self.row_fields: frozenset[str] | None = None
        # For a type built from rows or documents (`row_builder`): the selection written from one, when it
        # reads only mapped fields (see compiled.py); used for the rows a batched field answers.
        self.from_source: Fast | None = None
        # Pages written from rows whose items have fields left to the general path: per entry, the
        # `edges` field, the item field and the plan of the fields left (see compiled.py and the runner).
        self.deferred: list[tuple[FieldPlan, FieldPlan, SelectionPlan]] = []


def _uses_variables(node: FieldNode) -> bool:
    return any(isinstance(n, VariableNode) for argument in node.arguments or () for n in walk(argument))


def _static_arguments(definition: GraphQLField, node: FieldNode) -> dict[str, Any] | Exception:
    try:
        return get_argument_values(definition, node)
    except GraphQLError as exc:
        return exc


def walk(root: Node) -> Iterator[Node]:
    """Every node under `root`, itself included (graphql-core's `visit` costs far more per call)."""
    pending = [root]
    while pending:
        node = pending.pop()
        yield node
        for key in QUERY_DOCUMENT_KEYS.get(node.kind, ()):
            child = getattr(node, key, None)
            if isinstance(child, Node):
                pending.append(child)
            elif isinstance(child, tuple | list):
                pending.extend(c for c in child if isinstance(c, Node))
