"""Hostile input at the HTTP and schema edge: every case answers a client error and changes nothing.

Each test takes a digest of both stores before and after (row and document
contents of what a mutation could touch, counts of the rest) and asserts the exact
HTTP status and `extensions.code`. Client mistakes must not log tracebacks.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from bson import json_util
from pymongo import AsyncMongoClient

from gateway.data.ids import to_global_id
from gateway.ops.seed import oid, uid
from tests.conftest import Stores
from tests.support.issuer import TestIssuer

BRAIN_ORG = "initech"
ENTERPRISE_ORG = "globex"
GRAPHQL_RESPONSE = "application/graphql-response+json"

PAUSE = """mutation($input: CreativeStatusInput!) { pauseCreative(input: $input) {
  creative { id status } userErrors { code field } } }"""
RUN = """mutation($input: RunWorkflowInput!) { runWorkflow(input: $input) {
  execution { id } userErrors { code field } } }"""
CREATE = """mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) {
  workflow { id } userErrors { code field } } }"""
CAMPAIGNS = """query($text: String) { organization {
  campaigns(first: 100, filter: {nameContains: $text}) { totalCount edges { node { name } } } } }"""

# Small tables are compared row by row; daily_metrics (large, never written by the API) by count.
PG_ROWS = ["action_logs", "campaigns", "creatives", "idempotency_keys", "outbox", "organizations", "users"]
PG_COUNTS = ["daily_metrics", "channels", "cohorts", "brain_states", "sync_jobs", "api_credentials"]


# --- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture
async def api(gateway: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as http:
        yield http


@pytest.fixture
async def digest(seeded: Stores) -> AsyncIterator[Any]:
    """Call it to get a digest of both stores; the test asserts it did not change."""

    async def take() -> str:
        conn = await asyncpg.connect(seeded.database_url)
        mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(seeded.mongo_url, tz_aware=True)
        try:
            # Earlier tests may leave audit events in flight; wait until the outbox is drained.
            for _ in range(300):
                if not await conn.fetchval("SELECT count(*) FROM outbox WHERE delivered_at IS NULL"):
                    break
                await asyncio.sleep(0.1)
            h = hashlib.sha256()
            for table in PG_ROWS:
                rows = await conn.fetch(f"SELECT t::text AS r FROM {table} t ORDER BY 1")
                h.update(f"{table}:{[r['r'] for r in rows]}".encode())
            for table in PG_COUNTS:
                h.update(f"{table}:{await conn.fetchval(f'SELECT count(*) FROM {table}')}".encode())
            db = mongo[seeded.mongo_db]
            for name in sorted(await db.list_collection_names()):
                docs = await db[name].find({}).sort("_id", 1).to_list(None)
                h.update(f"{name}:{json_util.dumps(docs, sort_keys=True)}".encode())
            return h.hexdigest()
        finally:
            await conn.close()
            await mongo.close()

    yield take


def brain_token(issuer: TestIssuer) -> str:
    return issuer.token(BRAIN_ORG, "owner")


def enterprise_token(issuer: TestIssuer) -> str:
    return issuer.token(ENTERPRISE_ORG, "owner")


def creative_id() -> str:
    return to_global_id("Creative", str(uid("creative", BRAIN_ORG, 0)))


def workflow_id() -> str:
    return to_global_id("Workflow", oid("workflow", ENTERPRISE_ORG, 0))


async def post(
    api: httpx.AsyncClient, token: str, body: Any, *, accept: str | None = None, raw: bytes | None = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if accept:
        headers["Accept"] = accept
    content = raw if raw is not None else json.dumps(body).encode()
    return await api.post("/graphql", content=content, headers=headers)


def refusal(response: httpx.Response, status: int, code: str = "BAD_USER_INPUT") -> dict[str, Any]:
    """The response is `status` with a JSON `errors` list whose first code is `code`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] in ("application/json", GRAPHQL_RESPONSE)
    assert len(response.headers.get_list("x-request-id")) == 1, response.headers
    body: dict[str, Any] = response.json()
    assert body["errors"], body
    error = body["errors"][0]
    assert error["message"] and error["extensions"]["code"] == code, body
    return body


@pytest.fixture
def quiet(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Client errors log no traceback and nothing at ERROR."""
    caplog.set_level(logging.DEBUG)
    yield
    loud = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR or r.exc_info]
    assert not loud, [(r.name, r.levelname, r.getMessage()) for r in loud]


pytestmark = pytest.mark.usefixtures("quiet")


# --- request bodies ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b'"x"', b"null", b"42", b"true", b'[{"query": "{ __typename }"}]', b"{ not json", b""],
    ids=["string", "null", "number", "bool", "batch", "malformed", "empty"],
)
async def test_bodies_that_are_not_one_json_object_are_400(
    api: httpx.AsyncClient, issuer: TestIssuer, digest: Any, raw: bytes
) -> None:
    before = await digest()
    for accept in (None, GRAPHQL_RESPONSE):
        refusal(await post(api, brain_token(issuer), None, raw=raw, accept=accept), 400)
    assert await digest() == before


@pytest.mark.parametrize(
    "raw",
    [b'{"query": "{ __typename \xff }"}', b'{"query": "\xed\xa0\x80"}', b'{"query": "{ __typename }", "x": "\xc3"}'],
    ids=["stray-byte", "encoded-surrogate", "truncated-sequence"],
)
async def test_invalid_utf8_is_400(api: httpx.AsyncClient, issuer: TestIssuer, digest: Any, raw: bytes) -> None:
    before = await digest()
    refusal(await post(api, brain_token(issuer), None, raw=raw), 400)
    assert await digest() == before


async def test_an_escaped_lone_surrogate_in_json_is_400(
    api: httpx.AsyncClient, issuer: TestIssuer, digest: Any
) -> None:
    before = await digest()
    raw = b'{"query": "' + PAUSE.replace("\n", " ").encode() + b'", "variables": {"input": {"creativeId": "'
    raw += creative_id().encode() + b'", "reason": "a\\ud800b"}}}'
    refusal(await post(api, brain_token(issuer), None, raw=raw), 400)
    assert await digest() == before


async def test_other_content_types_are_415(api: httpx.AsyncClient, issuer: TestIssuer) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"):
        response = await api.post(
            "/graphql",
            content=b'{"query": "{ __typename }"}',
            headers={"Authorization": f"Bearer {brain_token(issuer)}", "Content-Type": content_type},
        )
        refusal(response, 415)
    response = await api.post(
        "/graphql", content=b'{"query": "{ __typename }"}', headers={"Authorization": f"Bearer {brain_token(issuer)}"}
    )
    refusal(response, 415)


async def test_unacceptable_accept_is_406(api: httpx.AsyncClient, issuer: TestIssuer) -> None:
    response = await post(api, brain_token(issuer), {"query": "{ __typename }"}, accept="application/xml")
    refusal(response, 406)


async def test_a_declared_body_over_the_limit_is_413_with_a_request_id(
    api: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    # Refused from Content-Length alone, before authentication and before the GraphQL endpoint.
    big = b'{"query": "{ __typename }", "pad": "' + b"a" * 5_100_000 + b'"}'
    for token in (brain_token(issuer), "not-a-token"):
        body = refusal(await post(api, token, None, raw=big), 413)
        assert body["errors"][0]["extensions"]["requestId"], body


async def test_a_chunked_body_over_the_limit_is_413(api: httpx.AsyncClient, issuer: TestIssuer, digest: Any) -> None:
    before = await digest()

    async def chunks() -> AsyncIterator[bytes]:
        # No Content-Length: the gateway has to count while reading.
        yield b'{"query": "{ __typename }", "variables": {"pad": "'
        for _ in range(6):
            yield b"a" * 1_000_000
        yield b'"}}'

    response = await api.post(
        "/graphql",
        content=chunks(),
        headers={"Authorization": f"Bearer {brain_token(issuer)}", "Content-Type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    refusal(response, 413)
    assert await digest() == before


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"query": "{ __typename }", "variables": "{not json"}, 400),
        ({"query": "{ __typename }", "variables": "[1]"}, 400),
        ({"query": "{ __typename }", "extensions": "42"}, 400),
        ({"query": "mutation { __typename }"}, 405),
    ],
    ids=["variables-not-json", "variables-not-object", "extensions-not-object", "mutation"],
)
async def test_bad_get_requests(
    api: httpx.AsyncClient, issuer: TestIssuer, params: dict[str, str], status: int
) -> None:
    response = await api.get(
        "/graphql", params=params, headers={"Authorization": f"Bearer {brain_token(issuer)}", "Accept": "*/*"}
    )
    refusal(response, status)


@pytest.mark.parametrize(
    "query_string",
    [
        "query=%7B__typename%7D&variables=%7B%22a%22%3A%22%ff%22%7D",  # a stray byte in a value
        "query=%7B__typename%7D&variables=%7B%22a%22%3A%22%ed%a0%80%22%7D",  # an encoded surrogate
        "query=%7B%20organization%20%7B%20name%20%7D%20%7D%ff",  # a stray byte in the document
        "query=%7B__typename%7D&query=%7Bviewer%7Bkind%7D%7D",  # which one would run?
    ],
    ids=["variables", "surrogate", "document", "repeated"],
)
async def test_get_parameters_are_strict_utf8_and_given_once(
    api: httpx.AsyncClient, issuer: TestIssuer, query_string: str
) -> None:
    headers = {"Authorization": f"Bearer {brain_token(issuer)}", "Accept": GRAPHQL_RESPONSE}
    refusal(await api.get(f"/graphql?{query_string}", headers=headers), 400)


# --- operations ----------------------------------------------------------------------------


async def test_several_operations_need_an_operation_name(
    api: httpx.AsyncClient, issuer: TestIssuer, digest: Any
) -> None:
    before = await digest()
    document = (
        f'mutation Pause {{ pauseCreative(input: {{creativeId: "{creative_id()}", reason: "x"}}) {{ creative {{ id }} }} }}'
        " query Look { __typename }"
    )
    body = refusal(await post(api, brain_token(issuer), {"query": document}), 200)
    assert "several operations" in body["errors"][0]["message"]
    refusal(await post(api, brain_token(issuer), {"query": document}, accept=GRAPHQL_RESPONSE), 400)
    # Naming one runs that one only.
    named = await post(api, brain_token(issuer), {"query": document, "operationName": "Look"})
    assert named.json() == {"data": {"__typename": "Query"}}
    assert await digest() == before


async def test_an_unknown_operation_name_is_400(api: httpx.AsyncClient, issuer: TestIssuer) -> None:
    response = await post(api, brain_token(issuer), {"query": "query A { __typename }", "operationName": "B"})
    refusal(response, 400)


async def test_fragment_cycles_are_refused(api: httpx.AsyncClient, issuer: TestIssuer) -> None:
    document = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }"
    body = refusal(await post(api, brain_token(issuer), {"query": document}), 200)
    assert "data" not in body
    refusal(await post(api, brain_token(issuer), {"query": document}, accept=GRAPHQL_RESPONSE), 400)


async def test_deep_and_wide_queries_are_too_complex(api: httpx.AsyncClient, issuer: TestIssuer) -> None:
    deep = "{ organization { " * 40 + "slug" + " }" * 80
    nested = '{ node(id: "x") { ... on Campaign { channel { campaigns(first: 1) { edges { node { ' * 8
    nested += "id" + " } } } } } }" * 8
    aliases = "{ " + " ".join(f"a{i}: __typename" for i in range(500)) + " }"
    fields = "{ " + " ".join("__typename" for _ in range(6000)) + " }"
    for document in (deep, nested, aliases, fields):
        response = await post(api, brain_token(issuer), {"query": document})
        assert response.status_code == 200, response.text
        codes = {e["extensions"]["code"] for e in response.json()["errors"]}
        assert codes <= {"QUERY_TOO_COMPLEX", "BAD_USER_INPUT"} and codes, response.text
        refusal(await post(api, brain_token(issuer), {"query": document}, accept=GRAPHQL_RESPONSE), 400, codes.pop())


async def test_deep_introspection_is_too_complex(api: httpx.AsyncClient, issuer: TestIssuer) -> None:
    document = "{ __schema { types { " + "fields { type { " * 6 + "name" + " } }" * 6 + " } } }"
    refusal(
        await post(api, brain_token(issuer), {"query": document}, accept=GRAPHQL_RESPONSE), 400, "QUERY_TOO_COMPLEX"
    )


async def test_a_document_nested_past_the_recursion_limit_is_bad_input(
    api: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    document = "{ __typename(x: " + "[" * 3000 + "]" * 3000 + ") }"
    refusal(await post(api, brain_token(issuer), {"query": document}, accept=GRAPHQL_RESPONSE), 400)


# --- string arguments ----------------------------------------------------------------------

NUL = "a\u0000b"


async def test_nul_in_a_filter_is_refused_naming_the_argument(
    api: httpx.AsyncClient, issuer: TestIssuer, digest: Any
) -> None:
    before = await digest()
    body = refusal(await post(api, brain_token(issuer), {"query": CAMPAIGNS, "variables": {"text": NUL}}), 200)
    assert body["errors"][0]["extensions"]["argument"] == "filter" and "NUL" in body["errors"][0]["message"]
    literal = CAMPAIGNS.replace("query($text: String)", "query").replace("$text", json.dumps(NUL))
    body = refusal(await post(api, brain_token(issuer), {"query": literal}, accept=GRAPHQL_RESPONSE), 400)
    assert body["errors"][0]["extensions"]["argument"] == "filter"
    assert await digest() == before


@pytest.mark.parametrize("field", ["reason", "idempotencyKey", "creativeId"])
async def test_nul_in_a_brain_mutation_changes_nothing(
    api: httpx.AsyncClient, issuer: TestIssuer, digest: Any, field: str
) -> None:
    before = await digest()
    input_ = {"creativeId": creative_id(), "reason": "fatigue", field: NUL}
    body = refusal(await post(api, brain_token(issuer), {"query": PAUSE, "variables": {"input": input_}}), 200)
    assert body["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "argument": "input",
        "variable": "input",
        "requestId": body["errors"][0]["extensions"]["requestId"],
    }
    assert await digest() == before


async def test_nul_in_mongodb_bound_strings_changes_nothing(
    api: httpx.AsyncClient, issuer: TestIssuer, digest: Any
) -> None:
    before = await digest()
    step = {"action": "report", "params": {"note": NUL}}
    for input_ in (
        {"name": NUL, "steps": [{"action": "report"}]},
        {"name": "ok", "steps": [step]},
        {"name": "ok", "steps": [{"action": "report", "params": {NUL: 1}}]},
    ):
        refusal(await post(api, enterprise_token(issuer), {"query": CREATE, "variables": {"input": input_}}), 200)
    literal = 'mutation { createWorkflow(input: {name: "a\\u0000b", steps: []}) { workflow { id } } }'
    body = refusal(await post(api, enterprise_token(issuer), {"query": literal}), 200)
    assert body["errors"][0]["extensions"]["argument"] == "input"
    assert await digest() == before


async def test_a_lone_surrogate_in_a_literal_is_refused(
    api: httpx.AsyncClient, issuer: TestIssuer, digest: Any
) -> None:
    before = await digest()
    literal = CAMPAIGNS.replace("query($text: String)", "query").replace("$text", '"a\\ud800b"')
    refusal(await post(api, brain_token(issuer), {"query": literal}, accept=GRAPHQL_RESPONSE), 400)
    assert await digest() == before


async def test_a_huge_idempotency_key_is_bad_input(api: httpx.AsyncClient, issuer: TestIssuer, digest: Any) -> None:
    before = await digest()
    key = "k" * 1_000_000
    brain = {"creativeId": creative_id(), "reason": "fatigue", "idempotencyKey": key}
    body = refusal(await post(api, brain_token(issuer), {"query": PAUSE, "variables": {"input": brain}}), 200)
    assert body["errors"][0]["extensions"]["argument"] == "idempotencyKey"
    enterprise = {"workflowId": workflow_id(), "idempotencyKey": key}
    body = refusal(await post(api, enterprise_token(issuer), {"query": RUN, "variables": {"input": enterprise}}), 200)
    assert body["errors"][0]["extensions"]["argument"] == "idempotencyKey"
    assert await digest() == before


async def test_like_wildcards_in_name_filters_match_themselves(
    api: httpx.AsyncClient, issuer: TestIssuer, digest: Any
) -> None:
    before = await digest()

    async def names(text: str) -> list[str]:
        response = await post(api, brain_token(issuer), {"query": CAMPAIGNS, "variables": {"text": text}})
        assert response.status_code == 200 and "errors" not in response.json(), response.text
        campaigns = response.json()["data"]["organization"]["campaigns"]
        assert campaigns["totalCount"] == len(campaigns["edges"])
        return [e["node"]["name"] for e in campaigns["edges"]]

    everything = await names("")
    assert everything
    for pattern in ("%", "_", "%%", "\\", "\\%", "a%e", "_a"):
        assert await names(pattern) == [n for n in everything if pattern.lower() in n.lower()], pattern
    sample = everything[0][1:4]
    assert everything[0] in await names(sample.upper())
    assert await digest() == before


async def test_long_name_filters_are_refused_before_any_store_scan(
    api: httpx.AsyncClient, issuer: TestIssuer, digest: Any
) -> None:
    # A megabyte of `nameContains` kept PostgreSQL busy past the request deadline, and held the
    # single-threaded MongoDB stand-in long enough to open its circuit for every organization.
    before = await digest()
    workflows = """query($text: String) { organization {
      workflows(first: 5, filter: {nameContains: $text}) { totalCount } } }"""
    for document, token in ((CAMPAIGNS, brain_token(issuer)), (workflows, enterprise_token(issuer))):
        for text in ("x" * 201, "x" * 1_000_000):
            body = refusal(await post(api, token, {"query": document, "variables": {"text": text}}), 200)
            error = body["errors"][0]
            assert error["extensions"]["argument"] == "filter" and "at most 200" in error["message"], body
        fits = await post(api, token, {"query": document, "variables": {"text": "x" * 200}})
        assert fits.status_code == 200 and "errors" not in fits.json(), fits.text
    ready = await api.get("/readyz")
    assert {s["circuit"] for s in ready.json()["stores"].values()} == {"closed"}, ready.text
    assert await digest() == before


async def test_page_sizes_in_variable_defaults_count_in_the_cost(api: httpx.AsyncClient, issuer: TestIssuer) -> None:
    # 20 per level when the size is unknown would estimate 8,000; the default says 100 per level.
    document = """query($f: Int = 100) { organization { campaigns(first: $f) { edges { node {
      creatives(first: $f) { edges { node { campaign { creatives(first: $f) { edges { node { name } } } } } } }
    } } } } }"""
    for variables in ({}, {"f": 100}):
        body = refusal(
            await post(api, brain_token(issuer), {"query": document, "variables": variables}, accept=GRAPHQL_RESPONSE),
            400,
            "QUERY_TOO_COMPLEX",
        )
        assert body["errors"][0]["extensions"]["cost"] > 1_000_000, body
    small = await post(api, brain_token(issuer), {"query": document, "variables": {"f": 2}})
    assert small.status_code == 200 and "errors" not in small.json(), small.text


async def test_instants_without_a_utc_form_are_bad_input(api: httpx.AsyncClient, issuer: TestIssuer) -> None:
    document = """query($at: DateTime) { organization { auditLogs(first: 1, filter: {createdAt: {from: $at}}) { totalCount } } }"""
    for instant in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "not a date", 5):
        body = refusal(
            await post(api, enterprise_token(issuer), {"query": document, "variables": {"at": instant}}), 200
        )
        assert "data" not in body, body
    literal = document.replace("query($at: DateTime)", "query").replace("$at", '"0001-01-01T00:00:00+14:00"')
    refusal(await post(api, enterprise_token(issuer), {"query": literal}, accept=GRAPHQL_RESPONSE), 400)
    fits = await post(api, enterprise_token(issuer), {"query": document, "variables": {"at": "2026-01-01T00:00:00"}})
    assert fits.status_code == 200 and "errors" not in fits.json(), fits.text


async def test_forged_cursors_are_bad_input(api: httpx.AsyncClient, issuer: TestIssuer) -> None:
    deep = base64.urlsafe_b64encode(b"[" * 100_000 + b"]" * 100_000).decode()
    document = "query($after: String) { organization { campaigns(first: 1, after: $after) { totalCount } } }"
    for cursor in (deep, "x" * 1_000_000):
        body = refusal(await post(api, brain_token(issuer), {"query": document, "variables": {"after": cursor}}), 200)
        assert body["errors"][0]["path"] == ["organization", "campaigns"] and "cursor" in body["errors"][0]["message"]
        assert len(body["errors"][0]["message"]) < 2_000, "a refusal need not echo the whole cursor"


@pytest.mark.parametrize(
    ("cron", "timezone", "code"),
    [
        ("0 6 * * *", "Europe", "INVALID_TIMEZONE"),  # a directory of the tz database
        ("0 6 * * *", "a" * 300, "INVALID_TIMEZONE"),  # longer than a file name may be
        ("0 0 30 2 *", "UTC", "INVALID_CRON"),  # valid syntax, but February has no 30th
        ("0 0 31 4 *", "UTC", "INVALID_CRON"),
    ],
)
async def test_schedules_that_cannot_be_computed_are_user_errors(
    api: httpx.AsyncClient, issuer: TestIssuer, digest: Any, cron: str, timezone: str, code: str
) -> None:
    before = await digest()
    document = """mutation($input: SetWorkflowScheduleInput!) { setWorkflowSchedule(input: $input) {
      schedule { id } userErrors { code field } } }"""
    input_ = {"workflowId": workflow_id(), "cron": cron, "timezone": timezone, "enabled": True}
    response = await post(api, enterprise_token(issuer), {"query": document, "variables": {"input": input_}})
    assert response.json() == {
        "data": {"setWorkflowSchedule": {"schedule": None, "userErrors": [{"code": code, "field": code[8:].lower()}]}}
    }, response.text
    assert await digest() == before


# --- JSON values -----------------------------------------------------------------------------


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": value}
    return value


def run_literal(json_literal: str) -> str:
    workflow = json.dumps(workflow_id())
    return (
        f"mutation {{ runWorkflow(input: {{workflowId: {workflow}, input: {json_literal}}}) {{ execution {{ id }} }} }}"
    )


async def test_deeply_nested_json_is_refused(api: httpx.AsyncClient, issuer: TestIssuer, digest: Any) -> None:
    before = await digest()
    for depth in (40, 900):
        variables = {"input": {"workflowId": workflow_id(), "input": nested(depth)}}
        body = refusal(await post(api, enterprise_token(issuer), {"query": RUN, "variables": variables}), 200)
        assert body["errors"][0]["extensions"]["argument"] == "input"
        assert "nested deeper" in body["errors"][0]["message"]
    literal = run_literal("{a: " * 900 + "1" + "}" * 900)
    refusal(await post(api, enterprise_token(issuer), {"query": literal}, accept=GRAPHQL_RESPONSE), 400)
    literal = run_literal("{a: " * 40 + "1" + "}" * 40)
    body = refusal(await post(api, enterprise_token(issuer), {"query": literal}), 200)
    assert body["errors"][0]["extensions"]["argument"] == "input"
    assert await digest() == before


async def test_huge_variables_are_refused(api: httpx.AsyncClient, issuer: TestIssuer, digest: Any) -> None:
    before = await digest()
    big = {f"k{i}": "v" * 100 for i in range(4000)}  # about 450 KB encoded, under the body limit
    variables = {"input": {"workflowId": workflow_id(), "input": big}}
    body = refusal(await post(api, enterprise_token(issuer), {"query": RUN, "variables": variables}), 200)
    assert re.search(r"at most \d+ are accepted", body["errors"][0]["message"]), body
    refusal(
        await post(api, enterprise_token(issuer), {"query": RUN, "variables": variables}, accept=GRAPHQL_RESPONSE),
        400,
    )
    assert await digest() == before


# --- logs --------------------------------------------------------------------------------------

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


async def test_debug_logs_carry_no_emails_tokens_or_hashes(
    api: httpx.AsyncClient, issuer: TestIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = brain_token(issuer)
    viewer = await post(api, token, {"query": "{ viewer { email } }"})
    assert EMAIL.search(viewer.text), "the viewer query should return an e-mail address"
    # Reads e-mail addresses from both stores.
    members = await post(api, token, {"query": "{ organization { members(first: 50) { edges { node { email } } } } }"})
    assert EMAIL.search(members.text), members.text
    await post(api, token + "x", {"query": "{ viewer { email } }"})
    await post(api, token, {"query": "{ viewer { email } ", "variables": {"e": "someone@example.com"}})
    # Refusals quote what the caller sent: an address as an id, a secret in a mistyped input.
    await post(api, token, {"query": '{ node(id: "someone@example.com") { id } }'})
    secret = "invitation-secret-" + "s" * 30
    accept = "mutation($i: AcceptInvitationInput!) { acceptInvitation(input: $i) { userErrors { code } } }"
    mistyped = {"i": {"token": secret, "emial": "someone@example.com"}}
    assert secret in (await post(api, token, {"query": accept, "variables": mistyped})).text
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    for record in caplog.records:
        text = record.getMessage() + " " + repr(record.args)
        assert not EMAIL.search(text), (record.name, text)
        assert token not in text and token.split(".")[2] not in text and token_hash not in text, record.name
        assert secret not in text, record.name


async def test_other_methods_are_405_in_json(api: httpx.AsyncClient, issuer: TestIssuer) -> None:
    for method in ("PUT", "DELETE", "PATCH"):
        response = await api.request(method, "/graphql", headers={"Authorization": f"Bearer {brain_token(issuer)}"})
        refusal(response, 405)
        assert response.headers["allow"] == "GET, POST"


def test_only_unexpected_resolver_failures_log_a_traceback(caplog: pytest.LogCaptureFixture) -> None:
    from graphql import GraphQLError

    from gateway.errors import BadUserInput
    from resolvers.schema import schema

    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        crash = GraphQLError("boom", path=["organization"], original_error=exc)
    client_mistakes = [
        GraphQLError("Syntax Error: Expected Name, found <EOF>."),
        GraphQLError("Expected value of type 'Date!', found \"x\".", original_error=ValueError("not a date")),
        GraphQLError("nested too deeply", original_error=RecursionError("maximum recursion depth exceeded")),
        GraphQLError("nested too deeply", path=["organization"], original_error=RecursionError("in a resolver")),
        BadUserInput("argument 'filter' contains a NUL character", argument="filter"),
    ]
    caplog.set_level(logging.DEBUG, logger="omnify.graphql")
    schema.process_errors(client_mistakes)
    assert [(r.levelno, r.exc_info) for r in caplog.records] == [(logging.INFO, None)] * len(client_mistakes)
    caplog.clear()
    schema.process_errors([crash])
    (record,) = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info and record.exc_info[1] is crash.original_error
    caplog.clear()  # the crash was this test's own; the module's no-ERROR check applies to the rest


def test_a_result_its_type_cannot_represent_is_internal(caplog: pytest.LogCaptureFixture) -> None:
    # A sum of impressions past 2^31 in an `Int` field is the server's fault, not the caller's:
    # INTERNAL and logged at ERROR, while graphql-core's refusal of an argument value stays a client error.
    from graphql import build_schema, graphql_sync

    from gateway.errors import server_fault
    from resolvers.schema import schema

    tiny = build_schema("type Query { total: Int  echo(n: Int!): Int }")
    (overflow,) = graphql_sync(tiny, "{ total }", root_value={"total": 2**33}).errors or []
    query = "query($n: Int = 1) { echo(n: $n) }"  # valid; the explicit null is refused while executing
    (refused,) = (
        graphql_sync(tiny, query, root_value={"echo": lambda info, n: n}, variable_values={"n": None}).errors or []
    )
    assert refused.path == ["echo"] and not server_fault(refused)
    assert server_fault(overflow)
    caplog.set_level(logging.DEBUG, logger="omnify.graphql")
    schema.process_errors([overflow])
    (record,) = caplog.records
    assert record.levelno == logging.ERROR
    caplog.clear()  # this test's own; the module's no-ERROR check applies to the rest
