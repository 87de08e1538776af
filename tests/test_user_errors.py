"""One vocabulary: every payload error type is a `UserError`, every domain code a `UserErrorCode`, and every
action log entry names its action and target type from `ActionKind` and `ActionTargetType`."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import strawberry
from graphql import GraphQLObjectType, GraphQLSchema, get_named_type

import resolvers.actions
from resolvers.actions.errors import UserErrorCode
from resolvers.brain.enums import ActionKind, ActionTargetType
from resolvers.schema import schema

ERROR_FIELDS = {"code", "message", "field"}


def not_user_errors(sdl: GraphQLSchema) -> list[str]:
    """Object types that look like user errors (named *Error with code/message/field, or the items of a
    payload's `userErrors`) but do not implement the `UserError` interface."""
    found = []
    for name, named in sdl.type_map.items():
        if not isinstance(named, GraphQLObjectType) or name.startswith("__"):
            continue
        if name.endswith("Error") and set(named.fields) >= ERROR_FIELDS:
            found.append(named)
        if "userErrors" in named.fields:
            item = get_named_type(named.fields["userErrors"].type)
            assert isinstance(item, GraphQLObjectType), name
            found.append(item)
    return sorted({t.name for t in found if "UserError" not in {i.name for i in t.interfaces}})


def domain_code_sets() -> dict[str, frozenset[UserErrorCode]]:
    """Every `*_CODES` set of the mutation modules (each domain's codes)."""
    sets: dict[str, frozenset[UserErrorCode]] = {}
    for module in pkgutil.walk_packages(resolvers.actions.__path__, "resolvers.actions."):
        for name, value in vars(importlib.import_module(module.name)).items():
            if name.endswith("_CODES") and isinstance(value, frozenset):
                sets[name] = value
    return sets


def test_every_payload_error_type_implements_user_error() -> None:
    sdl = schema._schema
    assert not_user_errors(sdl) == []
    interface = sdl.type_map["UserError"]
    implementations = {t.name for t in sdl.get_implementations(interface).objects}  # type: ignore[arg-type]
    assert {"BrainActionError", "IngestionError", "TeamError", "WorkflowError"} <= implementations


# A new domain's error type declared without the interface, as the check must catch it.
@strawberry.type(description="An error outside the interface.")
class CatalogError:
    code: str = strawberry.field(description="Code.")
    message: str = strawberry.field(description="Message.")
    field: str | None = strawberry.field(description="Field.")


@strawberry.type(description="A payload.")
class CatalogPayload:
    user_errors: list[CatalogError] = strawberry.field(description="Errors.")


@strawberry.type(description="Root.")
class CatalogQuery:
    @strawberry.field(description="One payload.")
    def payload(self) -> CatalogPayload:
        return CatalogPayload(user_errors=[])


def test_the_check_finds_an_error_type_outside_the_interface() -> None:
    assert not_user_errors(strawberry.Schema(query=CatalogQuery)._schema) == ["CatalogError"]


def test_every_code_of_the_vocabulary_is_some_domains() -> None:
    sets = domain_code_sets()
    assert len(sets) >= 8
    assert all(isinstance(code, UserErrorCode) for codes in sets.values() for code in codes)
    unused = set(UserErrorCode) - set().union(*sets.values())
    assert not unused, f"no domain answers with {sorted(c.name for c in unused)}: drop them from UserErrorCode"


ROOT = Path(__file__).resolve().parent.parent
NAMED_FROM = {0: "ActionKind", 1: "ActionTargetType"}


def _names_an_enum_member(node: ast.expr, enum: str) -> bool:
    """`stored(Enum.MEMBER)`, `stored(x)` or a conditional of such: anything but a literal string."""
    if isinstance(node, ast.Constant):
        return False
    if isinstance(node, ast.IfExp):
        return _names_an_enum_member(node.body, enum) and _names_an_enum_member(node.orelse, enum)
    return "stored(" in ast.unparse(node) or enum in ast.unparse(node)


def test_action_log_entries_name_their_action_and_target_from_the_enums() -> None:
    calls = []
    for path in sorted((ROOT / "resolvers").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("ActionLogEntry"):
                calls.append(node)
                for index, enum in NAMED_FROM.items():
                    assert _names_an_enum_member(node.args[index], enum), f"{path}:{node.lineno}"
    assert len(calls) >= 6
    # The stored names are the mutations' own (what the log held before it was an enum).
    assert {k.value for k in ActionKind} >= {"pauseCreative", "shiftBudget", "ingestDailyMetrics"}
    assert ActionTargetType.SYNC_JOB.value == "SyncJob"
    assert {"ActionKind", "ActionTargetType"} <= set(schema._schema.type_map)
