"""Every mutation of the schema, fuzzed with ids a hostile tenant would send.

The mutations are read from the schema's `Mutation` type, and every `ID` field of
their input (nested ones too: `rows[0].creativeId`, `steps[0].agentId`) is tried
in turn with real ids of another seeded organization, unknown ids of the right
type, real ids of another type, and ids that do not decode. A mutation added
later is fuzzed without touching this file, as long as its id fields are named
after the type they take (`creativeId`, `fromCampaignId`).

Every answer must be a client error: foreign and unknown ids `NOT_FOUND`, the
others `INVALID_ID` (both as the payload's typed user error, the convention of
every mutation today; a top-level `NOT_FOUND` / `BAD_USER_INPUT` error would pass
too), never `INTERNAL`, nothing logged at ERROR, and nothing changed in either
store.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from bson import ObjectId
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
)
from pymongo import AsyncMongoClient

from gateway.data.ids import to_global_id
from gateway.ops.seed import oid
from resolvers.schema import schema
from tests.conftest import Stores
from tests.support.digest import store_digest
from tests.support.issuer import TestIssuer

CALLER = "globex"
NEIGHBOUR = "acme"
SCHEMA = schema._schema
# Values that pass each mutation's own checks, so the ids are what decides the answer.
PLAIN_VALUES: dict[str, Any] = {
    "email": "fuzz@globex.example",
    "cron": "0 6 * * *",
    "timezone": "UTC",
    "reason": "fuzz",
}
MONGO_TYPES = {"Workflow", "Agent", "Invitation", "ScheduledWorkflow", "WorkflowExecution"}
# Id fields whose name is short for their type.
ID_TYPES = {"Credential": "ApiCredential"}
SCALARS: dict[str, Any] = {"String": "fuzz", "Int": 1, "Boolean": True, "Decimal": "1.00", "JSON": None}


@dataclass
class Ids:
    """Real global ids of one organization, by type."""

    by_type: dict[str, str]
    workflow_version: int


async def real_ids(stores: Stores, slug: str) -> Ids:
    conn = await asyncpg.connect(stores.database_url)
    try:

        async def one(table: str, where: str = "TRUE") -> str:
            value = await conn.fetchval(
                f"SELECT t.id FROM {table} t JOIN organizations o ON o.id = t.organization_id "
                f"WHERE o.slug = $1 AND {where} ORDER BY t.id LIMIT 1",
                slug,
            )
            assert value is not None, (table, slug)
            return str(value)

        brain = {
            "Creative": await one("creatives", "t.status <> 'archived'"),
            "Campaign": await one("campaigns", "t.status <> 'archived'"),
            "SyncJob": await one("sync_jobs"),
            "ApiCredential": await one("api_credentials", "t.status = 'active'"),
            "Channel": await one("channels", "t.status <> 'disconnected'"),
        }
    finally:
        await conn.close()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stores.mongo_url, tz_aware=True)
    try:
        db = client[stores.mongo_db]
        scope = {"organization_id": str(oid("org", slug))}
        workflow = await db.agentkit_workflows.find_one({**scope, "status": {"$ne": "archived"}}, sort=[("_id", 1)])
        agent = await db.agentkit_agents.find_one(scope, sort=[("_id", 1)])
        invitation = await db.team_invitations.find_one(scope, sort=[("_id", 1)])
        schedule = await db.scheduled_workflows.find_one(scope, sort=[("_id", 1)])
        execution = await db.agentkit_executions.find_one(scope, sort=[("_id", 1)])
        account = await db.users.find_one(scope, sort=[("_id", 1)])
    finally:
        await client.close()
    assert workflow and agent and invitation and schedule and execution and account
    enterprise = {
        "Workflow": workflow["_id"],
        "Agent": agent["_id"],
        "Invitation": invitation["_id"],
        "ScheduledWorkflow": schedule["_id"],
        "WorkflowExecution": execution["_id"],
        "Member": f"u:{account['_id']}",  # a member's enterprise account
    }
    return Ids({name: to_global_id(name, raw) for name, raw in {**brain, **enterprise}.items()}, workflow["version"])


def node_type(field: str) -> str:
    """The type an id field takes, from its name: `fromCampaignId` -> `Campaign`, `syncJobId` -> `SyncJob`,
    `creativeIds` (a list) -> `Creative`."""
    stem = re.sub(r"^(from|to)(?=[A-Z])", "", field.removesuffix("Ids").removesuffix("Id"))
    name = stem[0].upper() + stem[1:]
    return ID_TYPES.get(name, name)


def id_paths(input_type: GraphQLInputObjectType, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(path, node type) of every ID field reachable from an input type, lists entered at index 0."""
    for name, field in input_type.fields.items():
        named = get_named_type(field.type)
        path = f"{prefix}{name}"
        if isinstance(named, GraphQLScalarType) and named.name == "ID":
            yield (f"{path}[0]" if _is_list(field.type) else path), node_type(name)
        elif isinstance(named, GraphQLInputObjectType):
            inner = f"{path}[0]." if _is_list(field.type) else f"{path}."
            yield from id_paths(named, inner)


def _is_list(type_: GraphQLInputType) -> bool:
    return isinstance(type_.of_type if isinstance(type_, GraphQLNonNull) else type_, GraphQLList)


def build_input(input_type: GraphQLInputObjectType, target: str, value: str, own: Ids, prefix: str = "") -> Any:
    """An input with every required field set and `target` (a path) set to `value`; other ids are our own."""
    built: dict[str, Any] = {}
    for name, field in input_type.fields.items():
        path = f"{prefix}{name}"
        required = isinstance(field.type, GraphQLNonNull)
        on_the_way = target in (path, f"{path}[0]") or target.startswith(f"{path}.") or target.startswith(f"{path}[0].")
        if not required and not on_the_way:
            continue
        named = get_named_type(field.type)
        if target == path:
            built[name] = value
        elif target == f"{path}[0]":
            built[name] = [value]
        elif isinstance(named, GraphQLInputObjectType):
            inner = build_input(named, target, value, own, f"{path}[0]." if _is_list(field.type) else f"{path}.")
            built[name] = [inner] if _is_list(field.type) else inner
        elif isinstance(named, GraphQLScalarType) and named.name == "ID":
            own_id = own.by_type[node_type(name)]
            built[name] = [own_id] if _is_list(field.type) else own_id
        elif isinstance(named, GraphQLEnumType):
            built[name] = next(iter(named.values))
        elif name == "expectedVersion":
            built[name] = own.workflow_version
        elif named.name == "Date":
            built[name] = dt.datetime.now(dt.UTC).date().isoformat()
        else:
            built[name] = PLAIN_VALUES.get(name, SCALARS[named.name])
    return built


def undecodable(expected: str) -> list[str]:
    return [
        "%%%",
        "",
        base64.urlsafe_b64encode(expected.encode()).decode().rstrip("="),  # no `:<raw id>`
        base64.urlsafe_b64encode(b"\xff\xfe:1").decode(),  # not UTF-8 inside
        to_global_id(expected, "not-a-valid-raw-id"),
        "x" * 300,
    ]


def unknown(expected: str) -> str:
    """An id of the right type that names nothing: MongoDB types hold ObjectIds, PostgreSQL ones UUIDs."""
    if expected == "Member":
        return to_global_id(expected, f"u:{ObjectId()}")
    return to_global_id(expected, ObjectId() if expected in MONGO_TYPES else uuid.uuid4())


def mutation_inputs() -> dict[str, GraphQLInputObjectType]:
    """Every mutation of the schema and the type of its `input` argument."""
    mutation = SCHEMA.mutation_type
    assert mutation is not None
    inputs = {}
    for name, field in mutation.fields.items():
        input_type = get_named_type(field.args["input"].type)
        assert isinstance(input_type, GraphQLInputObjectType), name
        inputs[name] = input_type
    return inputs


def cases(own: Ids, foreign: Ids) -> Iterator[tuple[str, GraphQLInputObjectType, str, str, str]]:
    """(mutation, input type, id path, value, expected class) for every id of every mutation."""
    for name, input_type in mutation_inputs().items():
        for path, expected in id_paths(input_type):
            assert expected in own.by_type, f"{name}.{path}: add a real {expected} id to real_ids()"
            other = next(t for t in sorted(own.by_type) if t != expected)
            yield name, input_type, path, foreign.by_type[expected], "NOT_FOUND"
            yield name, input_type, path, unknown(expected), "NOT_FOUND"
            yield name, input_type, path, own.by_type[other], "INVALID_ID"
            for value in undecodable(expected):
                yield name, input_type, path, value, "INVALID_ID"


def is_bulk(name: str) -> bool:
    """Whether a mutation answers each of its ids in `results` (the bulk actions)."""
    assert SCHEMA.mutation_type is not None
    payload = get_named_type(SCHEMA.mutation_type.fields[name].type)
    return isinstance(payload, GraphQLObjectType) and "results" in payload.fields


def verdict(body: dict[str, Any], name: str, path: str) -> str:
    """The answer's class: a user error's code for `path`, or a top-level error's code."""
    if body.get("errors"):
        codes = {e["extensions"]["code"] for e in body["errors"]}
        assert len(codes) == 1, body
        code = codes.pop()
        return {"BAD_USER_INPUT": "INVALID_ID"}.get(code, code)
    errors = body["data"][name]["userErrors"]
    if not errors and "results" in body["data"][name]:
        # A bulk action answers an id it can read but not find in its result for that id.
        [result] = body["data"][name]["results"]
        return str(result["outcome"])
    assert [e["field"] for e in errors] == [path], body
    return str(errors[0]["code"])


@pytest.fixture
def quiet(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.INFO)
    yield
    loud = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR or r.exc_info]
    assert not loud, [(r.name, r.levelname, r.getMessage()) for r in loud]


@pytest.mark.usefixtures("quiet")
async def test_every_mutation_answers_foreign_unknown_and_bad_ids_as_client_errors(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    own, foreign = await real_ids(seeded, CALLER), await real_ids(seeded, NEIGHBOUR)
    token = issuer.token(CALLER, "owner")
    fuzzed, answers = set(), []
    before = await store_digest(seeded)
    for name, input_type, path, value, expected in cases(own, foreign):
        results = "results { outcome }" if is_bulk(name) else ""
        document = (
            f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ userErrors {{ code field }} {results} }} }}"
        )
        variables = {"input": build_input(input_type, path, value, own)}
        response = await client.post(
            "/graphql",
            json={"query": document, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, (name, path, value, response.text)
        got = verdict(response.json(), name, path)
        answers.append((name, path, value[:40], expected, got))
        fuzzed.add(name)
    wrong = [a for a in answers if a[3] != a[4]]
    assert not wrong, wrong
    assert await store_digest(seeded) == before
    with_ids = {name for name, input_type in mutation_inputs().items() if any(id_paths(input_type))}
    assert fuzzed == with_ids and len(fuzzed) >= 11, sorted(fuzzed)
    assert len(answers) >= 11 * 9


def test_id_fields_name_their_type() -> None:
    assert node_type("creativeId") == "Creative"
    assert node_type("fromCampaignId") == "Campaign" and node_type("toCampaignId") == "Campaign"
    assert node_type("syncJobId") == "SyncJob" and node_type("invitationId") == "Invitation"
    paths = dict(id_paths(mutation_inputs()["ingestDailyMetrics"]))
    assert paths == {"syncJobId": "SyncJob", "rows[0].creativeId": "Creative", "rows[0].campaignId": "Campaign"}
