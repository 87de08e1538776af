"""The internals of strawberry and graphql-core the schema relies on (resolvers/internals.py) are all
still there in the installed releases; each failure names the assumption that broke."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import inspect
import re
from pathlib import Path

import graphql
import pytest
from graphql import Executor, GraphQLObjectType, GraphQLSchema, parse

from resolvers.schema import Limits, build_schema

ROOT = Path(__file__).resolve().parents[1]
INTERNALS = ROOT / "resolvers" / "internals.py"
LIBRARIES = {"graphql": "graphql-core", "strawberry": "strawberry-graphql"}


def _taken() -> list[tuple[str, str, str]]:
    """(module, name, why) of every import of a library in internals.py; `why` is the comment above it."""
    lines = INTERNALS.read_text(encoding="utf-8").splitlines()
    taken = []
    for node in ast.parse("\n".join(lines)).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in LIBRARIES:
            above = lines[node.lineno - 2].strip()
            why = above.lstrip("# ") if above.startswith("#") else "(no reason given above the import)"
            taken += [(node.module, alias.name, why) for alias in node.names]
    return taken


def _broken(what: str, library: str) -> str:
    distribution = LIBRARIES[library.split(".")[0]]
    return f"{distribution} {importlib.metadata.version(distribution)} no longer has {what}"


@pytest.mark.parametrize(("module", "name", "why"), _taken(), ids=lambda v: str(v)[:40])
def test_every_private_import_is_there(module: str, name: str, why: str) -> None:
    found = hasattr(importlib.import_module(module), name)
    assert found, f"{_broken(f'{module}.{name}', module)}; resolvers/internals.py takes it for: {why}"


def test_the_private_imports_are_taken_from_one_module_only() -> None:
    """Elsewhere, only the libraries' public API: what graphql exports, and strawberry's documented modules."""
    public_strawberry = (
        "strawberry",
        "strawberry.extensions",
        "strawberry.types",
        "strawberry.types.info",
        "strawberry.types.scalar",
        "strawberry.types.graphql",
        "strawberry.types.execution",
        "strawberry.schema.config",
        "strawberry.schema.exceptions",
    )
    outside: list[str] = []
    for path in sorted([*(ROOT / "resolvers").rglob("*.py"), *(ROOT / "gateway").rglob("*.py")]):
        if path == INTERNALS:
            continue
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(ROOT)
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            names = [a.name for a in node.names]
            if node.module.startswith("graphql."):
                private = [
                    n for n in names if n not in graphql.__all__ and not node.module.startswith("graphql.pyutils")
                ]
                outside += [f"{where}: {node.module}.{n}" for n in private]
            elif node.module.startswith("strawberry.") and node.module not in public_strawberry:
                outside += [f"{where}: {node.module}.{n}" for n in names]
        for needle in ("._schema", "_strawberry_schema", ".schema_converter", '"strawberry-definition"'):
            if needle in text:
                outside.append(f"{where}: {needle}")
    assert outside == [], "take these from resolvers/internals.py: " + ", ".join(outside)


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    from resolvers import internals

    return internals.graphql_schema(build_schema(Limits()))


def test_strawberry_keeps_its_graphql_schema_and_converter(schema: GraphQLSchema) -> None:
    from resolvers import internals

    assert isinstance(schema, GraphQLSchema), _broken("Schema._schema (the graphql-core schema it built)", "strawberry")
    converter = internals.schema_converter(schema)
    assert converter is not None, _broken(
        "GraphQLSchema._strawberry_schema.schema_converter (resolvers called directly)", "strawberry"
    )
    for attribute in ("config", "scalar_registry", "_exception_handler_specs"):
        assert hasattr(converter, attribute), _broken(f"the schema converter's `{attribute}`", "strawberry")
    assert hasattr(converter.config, "info_class"), _broken("StrawberryConfig.info_class", "strawberry")
    assert not internals.handles_exceptions(converter)  # the gateway configures no exception handlers


def test_strawberry_marks_its_types_fields_and_generated_type_checks(schema: GraphQLSchema) -> None:
    from resolvers import internals

    campaign = schema.type_map["Campaign"]
    assert isinstance(campaign, GraphQLObjectType)
    definition = internals.strawberry_definition(campaign.extensions)
    assert getattr(definition, "origin", None) is not None, _broken(
        f"its definition under extensions[{internals.STRAWBERRY_DEFINITION!r}] of a type, with `origin`", "strawberry"
    )
    field = internals.strawberry_definition(campaign.fields["name"].extensions)
    assert hasattr(field, "base_resolver") and hasattr(field, "metadata"), _broken(
        f"its field under extensions[{internals.STRAWBERRY_DEFINITION!r}], with `base_resolver` and `metadata`",
        "strawberry",
    )
    generated = [
        t
        for t in schema.type_map.values()
        if getattr(t, "is_type_of", None) and internals.generated_is_type_of(t.is_type_of)
    ]
    assert generated, _broken(
        f"an `is_type_of` of its own in {internals.GENERATED_IS_TYPE_OF_MODULE} (inlined as a class check)",
        "strawberry",
    )
    assert isinstance(internals.TYPE_CAST_ATTRIBUTE, str)


def test_the_executor_members_the_runner_uses(schema: GraphQLSchema) -> None:
    from resolvers import internals

    built = internals.StrawberryGraphQLCoreExecutionContext.build(
        schema, parse("{ __typename }"), None, None, None, None
    )
    assert isinstance(built, Executor)
    for member in ("build_resolve_info", "ensure_valid_runtime_type", "build_response", "type_resolver", "fragments"):
        assert hasattr(built, member), _broken(
            f"Executor.{member} (resolvers/execution/runner.py, run_state.py)", "graphql"
        )
    assert "async_helpers" in vars(built), _broken(
        "the executor's `async_helpers` (the reference cycle documents.release breaks)", "graphql"
    )
    from strawberry.types.info import Info

    assert "_raw_info" in Info.__dataclass_fields__, _broken(
        "Info._raw_info (run_state.LazyInfo builds it late)", "strawberry"
    )


def test_the_overlapping_fields_rule_reads_its_budget() -> None:
    from resolvers import internals

    source = inspect.getsource(internals.overlapping_fields_can_be_merged)
    assert re.search(r"\bMAX_COMPLEXITY_BUDGET\b", source), _broken(
        "overlapping_fields_can_be_merged.MAX_COMPLEXITY_BUDGET (resolvers/common/checks.py sets it)", "graphql"
    )
