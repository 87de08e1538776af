"""Bounded work per document: denial-of-service shapes are refused over real HTTP while other tenants are served.

Each shape is sent a few times at once by a member and by an invitee of acme; meanwhile
a probe holding a globex token keeps asking for its organization and for /healthz, and
must get every answer right, and at least one of each while the shape is handled. No
timing is asserted: what the limits buy in time is measured by bench/document_limits.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import itertools
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query
from strawberry.schema.exceptions import CannotGetOperationTypeError

from gateway.core.config import Bucket, RateLimits
from gateway.core.runtime import gc_watch
from resolvers.common import checks
from resolvers.common.budget import Budget
from resolvers.schema import Limits, build_schema
from tests.conftest import Stores, gql
from tests.support.issuer import TestIssuer
from tests.support.servers import ServerThread
from tests.test_fair_share import post, serving

ROOT = Path(__file__).resolve().parents[1]
TOO_COMPLEX = "QUERY_TOO_COMPLEX"
BAD_INPUT = "BAD_USER_INPUT"
DEADLINE_S = 60  # for "eventually": the machine may be busy
INTROSPECTION = get_introspection_query(descriptions=True, input_value_deprecation=True, schema_description=True)
FULL_TYPE = INTROSPECTION[INTROSPECTION.index("fragment FullType") :]


def bomb(levels: int) -> str:
    fragments = ["fragment F0 on Viewer { kind subject }"]
    fragments += [f"fragment F{i} on Viewer {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)]
    return f"{{ viewer {{ ...F{levels} }} }}\n" + "\n".join(fragments)


def inline_bomb(levels: int) -> str:
    inner = "kind"
    for _ in range(levels):
        inner = f"... on Viewer {{ {inner} }} ... on Viewer {{ {inner} }}"
    return "{ viewer { " + inner + " } }"


def nested(outer: int, inner: int) -> str:
    fields = " ".join(["organization { name }"] * inner)
    return "{ " + " ".join([f"viewer {{ {fields} }}"] * outer) + " }"


def definitions(kind: str, count: int) -> str:
    if kind == "fragments":
        return "{ viewer { ...D0 } }\n" + "\n".join(f"fragment D{i} on Viewer {{ kind }}" for i in range(count))
    return "\n".join(f"query Q{i} {{ viewer {{ kind }} }}" for i in range(count))


def spreads(count: int) -> str:
    fragments = "\n".join(f"fragment S{i} on Organization {{ name }}" for i in range(count))
    return "{ organization { " + " ".join(f"...S{i}" for i in range(count)) + " } }\n" + fragments


# (name, document, variables, expected code, a word of the expected message)
SHAPES: list[tuple[str, str, dict[str, Any], str, str]] = [
    *((f"fragment bomb {n}", bomb(n), {}, TOO_COMPLEX, "selected") for n in (10, 20, 30, 40)),
    ("inline fragment bomb", inline_bomb(7), {}, TOO_COMPLEX, "selected"),
    (
        "alias overloading",
        "{ " + " ".join(f"a{i}: viewer {{ kind }}" for i in range(31)) + " }",
        {},
        TOO_COMPLEX,
        "aliases",
    ),
    ("directive overloading", "{ viewer { kind" + " @include(if: true)" * 5 + " } }", {}, TOO_COMPLEX, "directives"),
    ("field duplication", "{ viewer { " + " ".join(["kind"] * 700) + " } }", {}, TOO_COMPLEX, "selected"),
    ("nested field duplication", nested(8, 8), {}, TOO_COMPLEX, "selected"),
    ("nested merges", nested(7, 7), {}, TOO_COMPLEX, "comparisons"),
    (
        "deep nesting",
        "{ organization { " + "campaigns(first: 1) { edges { node { channel { " * 4 + "name" + " } } } }" * 4 + " } }",
        {},
        TOO_COMPLEX,
        "depth",
    ),
    (
        "merges with different arguments",
        "{ organization { " + " ".join(f"c: campaigns(first: {i + 1}) {{ totalCount }}" for i in range(60)) + " } }",
        {},
        TOO_COMPLEX,
        "selected",
    ),
    (
        "a conflict of arguments (within the limits: the document is wrong)",
        "{ organization { c: campaigns(first: 1) { totalCount } c: campaigns(first: 2) { totalCount } } }",
        {},
        BAD_INPUT,
        "conflict",
    ),
    (
        "a conflict of subselections",
        "{ organization { c: campaigns(first: 1) { totalCount } c: creatives(first: 1) { totalCount } } }",
        {},
        BAD_INPUT,
        "conflict",
    ),
    ("many fragment spreads", spreads(31), {}, TOO_COMPLEX, "spreads"),
    ("many fragment definitions", definitions("fragments", 61), {}, TOO_COMPLEX, "fragments"),
    ("many operations", definitions("operations", 11), {}, TOO_COMPLEX, "operations"),
    (
        "many variables",
        "query Q(" + ", ".join(f"$v{i}: Int" for i in range(51)) + ") { viewer { kind } }",
        {},
        TOO_COMPLEX,
        "variables",
    ),
    ("many tokens", "{ viewer { " + " ".join(["kind"] * 2600) + " } }", {}, TOO_COMPLEX, "tokens"),
    (
        "a long list literal",
        "{ organization { campaigns(first: 1, filter: {status: ["
        + ", ".join(["ACTIVE"] * 501)
        + "]}) { totalCount } } }",
        {},
        TOO_COMPLEX,
        "list",
    ),
    (
        "a huge string literal",
        '{ organization { campaigns(first: 1, filter: {nameContains: "' + "x" * 4_000_000 + '"}) { totalCount } } }',
        {},
        TOO_COMPLEX,
        "characters",
    ),
    (
        "aliased introspection",
        "{ " + " ".join(f"s{i}: __schema {{ ...S }}" for i in range(30)) + " }\n"
        "fragment S on __Schema { types { ...FullType } }\n" + FULL_TYPE,
        {},
        TOO_COMPLEX,
        "",
    ),
    (
        "a deep ofType chain",
        '{ __type(name: "Campaign") { fields { type { ' + "ofType { " * 20 + "name" + " }" * 20 + " } } } }",
        {},
        TOO_COMPLEX,
        "depth",
    ),
    (
        "introspection fields in cycles",
        "{ __schema { types { " + "fields { type { " * 6 + "name" + " } }" * 6 + " } } }",
        {},
        TOO_COMPLEX,
        "introspection",
    ),
]


class Probe:
    """Another tenant's requests, sent one after another until stopped: every answer must be right."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http = http
        self.token = token
        self.failures: list[str] = []
        self.answers = {"graphql": 0, "healthz": 0}
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        while not self.stopping.is_set():
            try:
                body = await gql(self.http, "{ organization { slug } }", token=self.token)
                if body.get("data", {}).get("organization", {}).get("slug") != "globex":
                    self.failures.append(f"graphql: {body}")
                self.answers["graphql"] += 1
                health = await self.http.get("/healthz")
                if health.status_code != 200 or health.json()["status"] != "ok":
                    self.failures.append(f"healthz: {health.status_code} {health.text[:200]}")
                self.answers["healthz"] += 1
            except (httpx.HTTPError, AssertionError) as exc:
                self.failures.append(f"{type(exc).__name__}: {exc}")

    async def answered_since(self, before: dict[str, int]) -> None:
        deadline = asyncio.get_running_loop().time() + DEADLINE_S
        while any(self.answers[k] <= before[k] for k in before) and not self.failures:
            assert asyncio.get_running_loop().time() < deadline, "the probe got no answer while the shape was handled"
            await asyncio.sleep(0.01)


def invitee_token(issuer: TestIssuer) -> str:
    return issuer.token("acme", "viewer", sub=str(uuid.uuid4()), email="new@example.com", org=None, roles=None)


@pytest.mark.parametrize("caller", ["member", "invitee"])
async def test_hostile_documents_are_refused_while_another_tenant_is_served(
    gateway: ServerThread, issuer: TestIssuer, caller: str
) -> None:
    token = issuer.token("acme", "viewer") if caller == "member" else invitee_token(issuer)
    async with (
        httpx.AsyncClient(base_url=gateway.url, timeout=DEADLINE_S) as attacker,
        httpx.AsyncClient(base_url=gateway.url, timeout=DEADLINE_S) as neighbour,
    ):
        probe = Probe(neighbour, issuer.token("globex", "viewer"))
        running = asyncio.create_task(probe.run())
        try:
            for name, document, variables, code, word in SHAPES:
                before = dict(probe.answers)
                # The first is worked out, the ones after it are answered from what the first learnt.
                responses = await asyncio.gather(
                    *(
                        attacker.post(
                            "/graphql",
                            json={"query": document, "variables": variables},
                            headers={"Authorization": f"Bearer {token}"},
                        )
                        for _ in range(3)
                    )
                )
                await probe.answered_since(before)
                for response in responses:
                    assert response.status_code == 200, (name, response.text[:500])
                    body = response.json()
                    assert body.get("data") is None, (name, body)
                    error = body["errors"][0]
                    assert error["extensions"]["code"] == code, (name, body)
                    assert word in error["message"], (name, error)
                    assert error["extensions"]["requestId"] == response.headers["x-request-id"], (name, error)
                assert probe.failures == [], (name, probe.failures)
        finally:
            probe.stopping.set()
            await running
    assert probe.failures == []


async def test_a_huge_string_in_a_variable_is_refused_by_its_field(
    client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    """A variable is not part of the document: a 4 MB text reaches the field, which refuses it (or the caller)."""
    document = "query($s: String) { organization { campaigns(first: 1, filter: {nameContains: $s}) { totalCount } } }"
    variables = {"s": "x" * 4_000_000}
    body = await gql(client, document, variables, token=issuer.token("acme", "viewer"))
    error = body["errors"][0]
    assert error["extensions"]["code"] == BAD_INPUT and "at most 200" in error["message"], error
    assert len(error["message"]) < 1000 and error["extensions"]["requestId"]
    body = await gql(client, document, variables, token=invitee_token(issuer))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN" and body["data"] == {"organization": None}, body


async def test_legitimate_documents_pass(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    token = issuer.token("acme", "admin")
    body = await gql(client, INTROSPECTION, token=token)
    assert "errors" not in body and len(body["data"]["__schema"]["types"]) > 100
    # Two introspections at once stay within the cost: each is priced at about the size of the schema.
    twice = "{ a: __schema { ...S } b: __schema { ...S } }\nfragment S on __Schema { types { ...FullType } }\n"
    body = await gql(client, twice + FULL_TYPE, token=token)
    assert "errors" not in body
    today = dt.datetime.now(dt.UTC).date()
    range_ = {"from": str(today - dt.timedelta(days=30)), "to": str(today)}
    dashboard = (ROOT / "bench/dashboard.graphql").read_text()
    body = await gql(client, dashboard, {**range_, "n": 20, "m": 10}, token=token)
    assert "errors" not in body, body
    # A Relay-style page: each component colocates a fragment selecting `id` and a field of its own.
    components = 12
    relay = (
        "query Page { organization { "
        + " ".join(f"...C{i}_organization" for i in range(components))
        + " campaigns(first: 5) { edges { node { "
        + " ".join(f"...R{i}_campaign" for i in range(components))
        + " } } } } }\n"
        + "\n".join(f"fragment C{i}_organization on Organization {{ id name }}" for i in range(components))
        + "\n"
        + "\n".join(f"fragment R{i}_campaign on Campaign {{ id status }}" for i in range(components))
    )
    body = await gql(client, relay, token=token)
    assert "errors" not in body and body["data"]["organization"]["name"] == "Acme Corporation", body


def test_a_document_over_the_time_budget_is_refused_and_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Limits raised until parsing alone passes a 10 ms budget; the same text again is answered from memory."""
    schema = build_schema(Limits(max_tokens=1_000_000, max_chars=10_000_000, budget_s=0.01))
    document = "{ " + "__typename " * 20_000 + "}"
    parses = count_calls(monkeypatch, checks, "parse")
    first = schema.execute_sync(document)
    assert first.errors is not None and first.data is None
    error = first.errors[0]
    assert error.extensions == {"code": TOO_COMPLEX, "limit": "budget"}, error
    assert "took more than 10 ms" in error.message
    again = schema.execute_sync(document)
    assert again.errors is not None and again.errors[0].message == error.message
    assert parses == [document]  # refused from memory: not parsed again


def test_the_budget_leaves_out_garbage_collection() -> None:
    """A collection may start at any allocation and walk the whole heap: that is not the document's work."""
    heap = [[i] for i in range(100_000)]
    before = gc_watch.collected_here()
    budget = Budget(60.0)
    with budget.phase():
        gc.collect()
    collected_cpu = gc_watch.collected_here()[1] - before[1]
    assert heap and collected_cpu > 0
    assert budget.used_cpu < collected_cpu


def test_documents_refused_by_validation_are_remembered_with_their_operations(monkeypatch: pytest.MonkeyPatch) -> None:
    schema = build_schema()
    document = "query A { viewer { nope } } query B { viewer { kind } }"
    parses = count_calls(monkeypatch, checks, "parse")
    answers = [schema.execute_sync(document, operation_name="A") for _ in range(2)]
    assert parses == [document]  # the second answer came from memory
    for result in answers:
        assert result.errors is not None and result.data is None
        assert [(e.message, e.formatted["locations"]) for e in result.errors] == [
            ("Cannot query field 'nope' on type 'Viewer'.", [{"line": 1, "column": 20}])
        ]
    # Remembered with its operations: a name it lacks is still told apart, as on the first time.
    with pytest.raises(CannotGetOperationTypeError):
        schema.execute_sync(document, operation_name="C")
    with pytest.raises(CannotGetOperationTypeError):
        build_schema().execute_sync(document, operation_name="C")


def count_calls(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[Any]:
    calls: list[Any] = []
    original: Callable[..., Any] = getattr(module, name)

    def counting(first: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(first)
        return original(first, *args, **kwargs)

    monkeypatch.setattr(module, name, counting)
    return calls


async def test_huge_variables_are_refused_before_coercion(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    """Half a million enum values would take the worker a second to coerce: refused by counting."""
    query = "query($s: [DeliveryStatus!]) { organization { campaigns(first: 1, filter: {status: $s}) { totalCount } } }"
    statuses = ["ACTIVE"] * 450_000
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": {"s": statuses}},
        headers={"Authorization": f"Bearer {issuer.token('globex', 'viewer')}"},
    )
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["limit"] == "variableValues", error
    assert "100,000 values" in error["message"]
    # A large legitimate list still passes.
    ok = await client.post(
        "/graphql",
        json={"query": query, "variables": {"s": ["ACTIVE"] * 5_000}},
        headers={"Authorization": f"Bearer {issuer.token('globex', 'viewer')}"},
    )
    assert "errors" not in ok.json(), ok.text


async def test_refused_documents_are_charged_the_analysis_they_took(seeded: Stores, issuer: TestIssuer) -> None:
    """Unique documents of many unknown type names defeat the memory of refusals: each pays its analysis."""
    big = Bucket(1_000_000, 0.01)
    limits = RateLimits(base=10, roles={**RateLimits().roles, "viewer": big}, organization=big)
    with serving(seeded, issuer, rate_limits=limits) as (server, _):
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            token = issuer.token("globex", "viewer")
            remaining = []
            for i in range(4):
                names = " ".join(f"$v{j}: Unknown{i}Type{j}Abcdefghijklmnop" for j in range(50))
                response = await post(http, token, f"query({names}) {{ viewer {{ subject }} }}")
                error = response.json()["errors"][0]
                assert error["extensions"]["code"] in ("GRAPHQL_VALIDATION_FAILED", "QUERY_TOO_COMPLEX"), error
                remaining.append(int(response.headers["ratelimit-remaining"]))
            spent = [before - after for before, after in itertools.pairwise(remaining)]
            # More than the base each time: the processor time of validation is charged.
            assert all(points > 10 for points in spent), spent
