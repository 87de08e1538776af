"""Differential test: the planned executor answers exactly as graphql-core's.

Random valid queries are generated from the schema (seeded, so a failure is
reproducible), run through both executors on the real stores with separate
request contexts for real tokens of several roles, and compared after JSON
encoding: data, errors (message, locations, path, extensions) and the kind
of the underlying exception. Every other test of the suite is differential
too: its gateway runs in `compare` mode (see tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
    parse,
)

from gateway.core.auth import Principal
from gateway.core.config import Settings
from gateway.core.context import RequestContext
from gateway.http.app import Gateway
from gateway.stores.tracing import StoreTrace, current_trace
from resolvers.execution.documents import _documents
from resolvers.execution.extension import MISMATCHES, encoded
from resolvers.execution.runner import execute_planned
from resolvers.schema import schema
from tests.conftest import Stores, gateway_settings
from tests.support.issuer import TestIssuer
from tests.support.proxy import TcpProxy

GENERATED = 1000
BENCH = Path(__file__).resolve().parents[1] / "bench"
TODAY = dt.datetime.now(dt.UTC).date()
GQL = schema._schema


@dataclass
class Harness:
    gateway: Gateway
    principals: list[Principal]
    ids: list[str] = field(default_factory=list)

    async def run(self, principal: Principal, executor: str, query: str, variables: dict[str, Any]) -> str:
        org = principal.organization
        trace = StoreTrace()
        reset = current_trace.set(trace)
        context = RequestContext(
            principal=principal,
            settings=self.gateway.settings.with_overrides(executor=executor),
            _mongo=self.gateway.mongo.tenant(org.enterprise_id),
            _postgres=self.gateway.postgres.reader(org.brain_id) if org.brain_id else None,
            trace=trace,
            request_id="differential",
            services=self.gateway.services,
        )
        try:
            return encoded(await schema.execute(query, variables, context_value=context))  # type: ignore[arg-type]
        finally:
            current_trace.reset(reset)
            await context.close()

    async def harvest_ids(self) -> None:
        """Real ids of every type for `node(id:)`, from the owner's view of the organization."""
        found: set[str] = set()
        query = "{ organization { id " + _id_selection(GQL.get_type("Organization"), 2) + " } }"  # type: ignore[arg-type]
        _collect_ids(json.loads(await self.run(self.principals[2], "standard", query, {}))["data"], found)
        assert len(found) > 50
        self.ids.extend(sorted(found))

    async def compare(self, principal: Principal, query: str, variables: dict[str, Any]) -> list[str]:
        """The differences compare mode found for this query (it answers with the standard executor)."""
        before = len(MISMATCHES)
        answer = await self.run(principal, "compare", query, variables)
        found = [m for m in MISMATCHES[before:] if m.startswith(query)]
        assert found or "planned execution differs" not in answer
        return found


async def principals(gateway: Gateway, issuer: TestIssuer) -> list[Principal]:
    tokens = [issuer.token(org, role) for org in ("acme", "globex") for role in ("viewer", "analyst", "owner")]
    tokens.append(issuer.token("acme", "owner", sub="partner-sync", azp="partner-sync", scope="metrics:write"))
    return [await gateway.authenticator.authenticate(token) for token in tokens]


@contextlib.asynccontextmanager
async def open_harness(settings: Settings, issuer: TestIssuer) -> AsyncIterator[Harness]:
    gateway = Gateway.build(settings)
    await gateway.postgres.open()
    await gateway.mongo.open()
    try:
        yield Harness(gateway, await principals(gateway, issuer))
    finally:
        await gateway.mongo.close()
        await gateway.postgres.close()
        await gateway.http.aclose()


@pytest.fixture
async def harness(seeded: Stores, issuer: TestIssuer) -> AsyncIterator[Harness]:
    async with open_harness(gateway_settings(seeded, issuer), issuer) as opened:
        await opened.harvest_ids()
        yield opened


class QueryGenerator:
    """Random valid documents over the schema, within the query limits."""

    def __init__(self, rng: random.Random, ids: list[str]) -> None:
        self.rng = rng
        self.ids = ids

    def document(self) -> tuple[str, dict[str, Any]]:
        self.aliases = 0
        self.variables: dict[str, tuple[str, Any]] = {}
        self.fragments: list[str] = []
        body = self.selection(GQL.query_type, depth=0)  # type: ignore[arg-type]
        definitions = ", ".join(f"${name}: {kind}" for name, (kind, _) in self.variables.items())
        head = f"query Q({definitions})" if definitions else self.rng.choice(["", "query", "query Named"])
        return (
            " ".join([f"{head} {body}", *self.fragments]),
            {name: value for name, (_, value) in self.variables.items()},
        )

    def selection(self, parent: GraphQLNamedType, depth: int) -> str:
        rng = self.rng
        used: set[str] = set()
        if isinstance(parent, GraphQLInterfaceType | GraphQLUnionType):
            parts = ["__typename"] if rng.random() < 0.5 else []
            possible = list(GQL.get_possible_types(parent))
            for concrete in rng.sample(possible, min(len(possible), rng.randint(1, 3))):
                parts.append(f"... on {concrete.name} {self.fields(concrete, depth, used)}")
            if isinstance(parent, GraphQLInterfaceType) and rng.random() < 0.5:
                parts.append(self.fields(parent, depth, used)[2:-2])
            return "{ " + " ".join(parts) + " }"
        assert isinstance(parent, GraphQLObjectType)
        return self.fields(parent, depth, used)

    def fields(self, parent: GraphQLObjectType | GraphQLInterfaceType, depth: int, used: set[str]) -> str:
        rng = self.rng
        names = [n for n in parent.fields if depth > 0 or n != "node" or self.ids]
        picked = rng.sample(names, min(len(names), rng.randint(1, 3 if depth < 3 else 2)))
        if depth == 0 and self.ids and rng.random() < 0.3:
            picked.append("node")
        parts: list[str] = []
        if rng.random() < 0.2:
            parts.append("__typename")
        for name in picked:
            fld = parent.fields[name]
            target = _named(fld.type)
            leaf = isinstance(target, GraphQLScalarType | GraphQLEnumType)
            if not leaf and depth >= 6:
                continue
            args = self.arguments(name, fld.args)
            if args is None:
                continue
            key = name
            if key in used or rng.random() < 0.1:
                if self.aliases >= 25:
                    continue
                self.aliases += 1
                key = f"a{self.aliases}"
            used.add(key)
            text = (f"{key}: " if key != name else "") + name + args + self.directive()
            if not leaf:
                text += " " + self.selection(target, depth + 1)
            parts.append(text)
        if not parts:
            parts.append("__typename")
        roll = rng.random()
        if roll < 0.1 and isinstance(parent, GraphQLObjectType):
            fragment = f"F{len(self.fragments)}"
            self.fragments.append(f"fragment {fragment} on {parent.name} {{ {parts.pop()} }}")
            parts.append(f"...{fragment}")
        elif roll < 0.2:
            parts.append(f"... {{ {parts.pop()} }}")
        return "{ " + " ".join(parts) + " }"

    def directive(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll > 0.15:
            return ""
        which = rng.choice(["include", "skip"])
        if roll < 0.08:
            return f" @{which}(if: {rng.choice(['true', 'false'])})"
        name = f"d{len(self.variables)}"
        self.variables[name] = ("Boolean!", rng.random() < 0.5)
        return f" @{which}(if: ${name})"

    def arguments(self, field_name: str, args: dict[str, Any]) -> str | None:
        rng = self.rng
        written: list[str] = []
        for name, arg in args.items():
            required = isinstance(arg.type, GraphQLNonNull)
            if name in ("after", "before"):
                continue  # cursors are covered by the hand-written tests
            if not required and name != "first" and rng.random() < 0.6:
                continue
            value = self.value(field_name, name, arg.type)
            if value is None:
                if required:
                    return None
                continue
            if rng.random() < 0.25:
                var = f"v{len(self.variables)}"
                self.variables[var] = (str(arg.type), json.loads(json.dumps(value[1])))
                written.append(f"{name}: ${var}")
            else:
                written.append(f"{name}: {value[0]}")
        return f"({', '.join(written)})" if written else ""

    def value(self, field_name: str, name: str, type_: GraphQLInputType) -> tuple[str, Any] | None:
        """A literal and the same value as JSON, or None when none can be made."""
        rng = self.rng
        inner: Any = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
        if isinstance(inner, GraphQLList):
            items = [self.value(field_name, name, inner.of_type) for _ in range(rng.choice([1, 1, 2, 3]))]
            if any(item is None for item in items):
                return None
            return f"[{', '.join(i[0] for i in items if i)}]", [i[1] for i in items if i]
        if isinstance(inner, GraphQLEnumType):
            choice = rng.choice(list(inner.values))
            return choice, choice
        if isinstance(inner, GraphQLInputObjectType):
            parts, values = [], {}
            for key, sub in inner.fields.items():
                if isinstance(sub.type, GraphQLNonNull) or rng.random() < 0.4:
                    made = self.value(field_name, key, sub.type)
                    if made is None:
                        return None
                    parts.append(f"{key}: {made[0]}")
                    values[key] = made[1]
            return "{" + ", ".join(parts) + "}", values
        kind = inner.name
        if kind == "Int":
            number = rng.choice([0, 1, 2]) if name in ("first", "last") else rng.randint(0, 5)
            return str(number), number
        if kind == "Boolean":
            flag = rng.random() < 0.5
            return str(flag).lower(), flag
        if kind == "Date":
            day = TODAY - dt.timedelta(days=rng.randint(0, 40) if name == "from" else rng.randint(0, 3))
            return json.dumps(str(day)), str(day)
        if kind == "ID":
            if not self.ids:
                return None
            found = rng.choice([*self.ids, "bm90LWFuLWlk", "Q2FtcGFpZ246MTIz"])
            return json.dumps(found), found
        if kind == "String":
            text = rng.choice(["a", "e", "Spring", "", "zz"])
            return json.dumps(text), text
        if kind == "Decimal":  # amounts, e.g. KPI bounds on spend
            amount = rng.choice(["0", "1.5", "20", "250.25", "10000"])
            return json.dumps(amount), amount
        if kind == "Float":  # ratios, e.g. KPI bounds on ROAS or CTR
            ratio = rng.choice([0.0, 0.02, 0.5, 1.0, 2.5])
            return json.dumps(ratio), ratio
        return None


def _named(type_: Any) -> GraphQLNamedType:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_  # type: ignore[no-any-return]


def _id_selection(parent: GraphQLObjectType, depth: int) -> str:
    """Every list and connection below `parent` that reaches objects with ids, two at a time."""
    parts = []
    for name, fld in parent.fields.items():
        if any(isinstance(a.type, GraphQLNonNull) for a in fld.args.values()):
            continue
        target = _named(fld.type)
        if not isinstance(target, GraphQLObjectType):
            continue
        paging = "(first: 2)" if "first" in fld.args else ""
        edges = target.fields.get("edges")
        node = (
            _named(edges.type).fields["node"] if edges and isinstance(_named(edges.type), GraphQLObjectType) else None
        )  # type: ignore[union-attr]
        inner = _named(node.type) if node else target
        if not isinstance(inner, GraphQLObjectType) or "id" not in inner.fields:
            continue
        below = _id_selection(inner, depth - 1) if depth > 1 else ""
        body = f"{{ id {below} }}"
        parts.append(f"{name}{paging} {{ edges {{ node {body} }} }}" if node else f"{name}{paging} {body}")
    return " ".join(parts)


def _collect_ids(value: Any, into: set[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "id" and isinstance(item, str):
                into.add(item)
            else:
                _collect_ids(item, into)
    elif isinstance(value, list):
        for item in value:
            _collect_ids(item, into)


async def _differential(harness: Harness, seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    generator = QueryGenerator(rng, harness.ids)
    failures: list[str] = []
    checked = 0

    async def one(index: int) -> None:
        nonlocal checked
        query, variables = generator.document()
        principal = harness.principals[index % len(harness.principals)]
        failures.extend(await harness.compare(principal, query, variables))
        checked += 1

    for start in range(0, count, 8):
        await asyncio.gather(*(one(i) for i in range(start, min(count, start + 8))))
    assert checked == count
    return failures


async def test_generated_queries_answer_alike(harness: Harness) -> None:
    failures = await _differential(harness, seed=20261125, count=GENERATED)
    assert not failures, f"{len(failures)} of {GENERATED} differ; first:\n" + failures[0]


def _proxy(url: str) -> tuple[TcpProxy, str]:
    """A cuttable proxy in front of the server of `url`, and the URL through it."""
    scheme, rest = url.split("//", 1)
    userinfo, _, tail = rest.rpartition("@")
    host_port, slash, path = tail.partition("/")
    host, _, port = host_port.rpartition(":")
    proxy = TcpProxy(host, int(port))
    proxy.start()
    return proxy, f"{scheme}//{userinfo + '@' if userinfo else ''}127.0.0.1:{proxy.port}{slash}{path}"


@pytest.mark.parametrize("store", ["mongo", "postgres"])
async def test_generated_queries_answer_alike_during_an_outage(seeded: Stores, issuer: TestIssuer, store: str) -> None:
    proxy, url = _proxy(seeded.mongo_url if store == "mongo" else seeded.app_url)
    through = (
        {"mongo_url": url + ("&" if "?" in url else "?") + "directConnection=true"}
        if store == "mongo"
        else {"database_url": url}
    )
    settings = gateway_settings(seeded, issuer, store_timeout_s=0.5, **through)
    try:
        async with open_harness(settings, issuer) as harness:
            await harness.harvest_ids()
            proxy.stop()
            answer = json.loads(
                await harness.run(
                    harness.principals[2],
                    "planned",
                    "{ organization { members { totalCount } campaigns { totalCount } } }",
                    {},
                )
            )
            assert [e["extensions"]["code"] for e in answer["errors"]] == ["STORE_UNAVAILABLE"], answer
            failures = await _differential(harness, seed=11, count=30)
            assert not failures, f"{len(failures)} of 30 differ; first:\n" + failures[0]
    finally:
        proxy.stop()


async def test_queries_take_the_planned_path_and_the_rest_falls_back(harness: Harness) -> None:
    principal = harness.principals[2]
    org = principal.organization
    context = RequestContext(
        principal=principal,
        settings=harness.gateway.settings.with_overrides(executor="planned"),
        _mongo=harness.gateway.mongo.tenant(org.enterprise_id),
        _postgres=harness.gateway.postgres.reader(org.brain_id) if org.brain_id else None,
        trace=StoreTrace(),
        request_id="planned",
        services=harness.gateway.services,
    )

    async def planned(query: str, variables: dict[str, Any] | None = None) -> Any:
        return await execute_planned(GQL, query, parse(query), variables, None, context)

    try:
        first = await planned("{ organization { id } }")
        assert first is not None and first.data is not None and not first.errors
        org_id = first.data["organization"]["id"]
        answer = await planned("query Q($id: ID!) { organization { name } node(id: $id) { id } }", {"id": org_id})
        assert answer is not None and answer.data == {"organization": {"name": org.name}, "node": {"id": org_id}}
        assert await planned("{ __schema { queryType { name } } }") is None  # introspection
        assert await planned("mutation { __typename }") is None
        assert await planned("query Q($id: ID!) { node(id: $id) { id } }", {}) is None  # missing variable
    finally:
        await context.close()


# Selections the compiled path builds alone (attribute reads down to leaves), beside fields it
# leaves to the general path (resolvers, cursors, FORBIDDEN fields), in every shape it special-cases.
COMPILED_CASES = [
    # leaves of each kind, aliases, __typename, nullable nulls, enums, a nested object (Money)
    "{ organization { campaigns(first: 5) { edges { node { __typename id n: name status objective startDate "
    "endDate createdAt dailyBudget { __typename amount currency } } } } } }",
    # a named fragment, an inline fragment, @include/@skip with a variable, the same key twice
    "query Q($yes: Boolean!) { organization { campaigns(first: 3) { edges { ...E node { id } } } } } "
    "fragment E on CampaignEdge { node { ... on Campaign { id name @include(if: $yes) status @skip(if: $yes) } } }",
    # cursors (resolvers) beside inline fields, in one selection set
    "{ organization { creatives(first: 4) { pageInfo { hasNextPage endCursor } "
    "edges { cursor node { id name headline format status } } } } }",
    # lists of leaves and of objects, in MongoDB documents
    "{ organization { members(first: 5) { edges { node { email name enterpriseRoles brainRole status lastLoginAt } } } "
    "workflows(first: 2) { edges { node { name version steps { __typename } schedule { __typename } } } } } }",
    # JSON and DateTime scalars, nested objects under lists
    "{ organization { latestBrainStates { module version computedAt state } "
    "auditLogs(first: 3) { edges { node { action details requestId createdAt actor { email kind } targetRef { id type } target { __typename id } } } } "
    "actionLogs(first: 3) { edges { node { action targetType payload result createdAt status actorKind } } } } }",
    # the compiled selection of a type reached through an interface (node) and through a list
    "query N($id: ID!) { node(id: $id) { __typename ... on Campaign { id name status dailyBudget { amount } "
    "creatives(first: 2) { edges { node { id name format } } } } } }",
    # pages written from documents: every paged enterprise type, aliases, nested objects and lists, cursors
    "{ organization { invitations(first: 3) { edges { cursor node { __typename id email role status expiresAt "
    "createdAt } } } agents(first: 3) { edges { node { id name kind model config enabled createdAt } } } "
    "scheduledWorkflows(first: 3) { edges { node { id cron timezone enabled nextRunAt lastRunAt } } } "
    "complianceChecks(first: 4) { edges { node { framework control status evidence checkedAt } } } } }",
    "{ organization { executions(first: 6) { totalCount edges { node { id status input output error triggeredBy "
    "createdAt startedAt finishedAt s: status } } } auditLogs(last: 3) { pageInfo { startCursor } edges { node { "
    "__typename actor { kind } targetRef { type } eventId } } } members(first: 4) { edges { node { id "
    "hasEnterpriseAccount hasBrainAccount brainRole } } } } }",
    # a page written from documents whose items have a resolver (the item is built for it)
    "{ organization { workflows(first: 3) { edges { node { id name status version steps { action params "
    "agent { name } } executions(first: 2) { edges { node { status } } } schedule { cron } } } } } }",
]


async def test_compiled_selections_answer_alike(harness: Harness) -> None:
    found = await harness.run(
        harness.principals[2], "standard", "{ organization { campaigns(first: 1) { edges { node { id } } } } }", {}
    )
    campaign_id = json.loads(found)["data"]["organization"]["campaigns"]["edges"][0]["node"]["id"]
    failures: list[str] = []
    for principal in harness.principals:  # viewers get FORBIDDEN fields beside compiled ones
        for query in COMPILED_CASES:
            for variables in ({"yes": True, "id": campaign_id}, {"yes": False, "id": campaign_id}):
                used = {k: v for k, v in variables.items() if f"${k}" in query}
                failures.extend(await harness.compare(principal, query, used))
    assert not failures, failures[0]


# The reads of the "what should I pause" screen: KPI filters (with KPI orders, cursors and counts, nested
# too), `nodes`, log targets as nodes, an object's own action history, typed retention.
NEW_READ_CASES = [
    '{ organization { campaigns(first: 4, metricsRange: {from: "2026-01-01", to: "2026-12-31"}, '
    'filter: {kpi: {roas: {lt: 3.5}, spend: {gt: "10"}}}, orderBy: [{field: ROAS}]) { totalCount '
    "countsByStatus { status count } pageInfo { hasNextPage endCursor } edges { cursor node { id name } } } "
    'creatives(first: 3, filter: {status: [ACTIVE], kpi: {ctr: {gte: 0.01}, conversions: {gt: 0}, cpa: {lte: "50"}}}) '
    "{ totalCount edges { node { name } } } } }",
    "{ organization { channels(first: 3) { edges { node { campaigns(first: 2, filter: {kpi: {roas: {gte: 1}}}) { "
    "totalCount countsByStatus { status count } edges { node { name creatives(first: 2, filter: {kpi: "
    '{spend: {gt: "0"}}}, orderBy: [{field: SPEND, direction: DESC}]) { totalCount edges { cursor node { id } } '
    "} } } } } } } } }",
    'query N($id: ID!) { nodes(ids: [$id, $id, "Q2FtcGFpZ246MTIz"]) { __typename id ... on Campaign { name '
    "actionLogs(first: 2) { totalCount edges { node { action target { __typename id } } } } } } }",
    "{ organization { actionLogs(first: 5) { edges { node { id targetType targetId target { __typename id "
    "... on Campaign { name status } } } } } auditLogs(first: 3) { edges { node { targetRef { type } "
    "target { __typename id } } } } cohorts(first: 3) { edges { node { cohortMonth retention { period ratio } "
    "} } } } }",
]


async def test_new_reads_answer_alike(harness: Harness) -> None:
    found = await harness.run(
        harness.principals[2], "standard", "{ organization { campaigns(first: 1) { edges { node { id } } } } }", {}
    )
    campaign_id = json.loads(found)["data"]["organization"]["campaigns"]["edges"][0]["node"]["id"]
    failures: list[str] = []
    for principal in harness.principals:
        for query in NEW_READ_CASES:
            failures.extend(await harness.compare(principal, query, {"id": campaign_id} if "$id" in query else {}))
    assert not failures, failures[0]


async def test_large_pages_take_the_compiled_path(harness: Harness) -> None:
    query = (BENCH / "campaigns.graphql").read_text()
    answer = json.loads(await harness.run(harness.principals[2], "planned", query, {}))
    edges = answer["data"]["organization"]["campaigns"]["edges"]
    assert len(edges) == 50 and all(len(e["node"]["creatives"]["edges"]) == 20 for e in edges)
    plan = next(p for (_, text, _), p in _documents.items() if text == query)
    assert plan is not None
    root = next(iter(plan.roots.values()))
    organization = root.fields[0].completion.plans["Organization"]
    campaigns = organization.fields[0].completion.plans["CampaignConnection"]
    edge = campaigns.fields[0].completion.item.plans["CampaignEdge"]  # type: ignore[union-attr]
    node = edge.fields[0].completion.plans["Campaign"]
    # The campaigns are written from their rows too, without edge objects; each campaign's
    # creatives (a batched resolver) run on the general path over a campaign built from its row,
    # which reads only the campaign's id: the statement reads only the columns used.
    assert campaigns.fast is not None and campaigns.general == []
    [(edges, item, rest)] = campaigns.deferred
    assert (edges.key, item.key, [f.key for f in rest.fields]) == ("edges", "node", ["creatives"])
    assert campaigns.row_fields == {"id", "name", "status", "daily_budget", "currency"}
    creatives = node.fields[-1].completion.plans["CreativeConnection"]
    # The whole page of creatives (edges, nodes, leaves) is one compiled selection, written from
    # the rows without an edge or creative object, and its statement reads only those fields.
    assert creatives.fast is not None and creatives.general == [] and creatives.deferred == []
    assert creatives.row_fields == {"id", "name", "status", "format"}


BATCHED_CASES = [
    # Per campaign and per creative, with aliases, one range reversed (an error on every creative).
    '{ organization { campaigns(first: 5) { edges { node { name performance(from: "2026-01-01", to: "2026-01-31") '
    "{ roas spend { amount currency } } creatives(first: 3) { edges { node { name "
    'a: performance(from: "2026-01-01", to: "2026-01-31") { ctr clicks } '
    'b: performance(from: "2026-02-01", to: "2026-01-01") { ctr } } } } } } } } }',
    '{ organization { creatives(first: 7) { edges { node { id performance(from: "2025-06-01", to: "2026-11-30") '
    "{ clicks cpc { amount } revenue { amount } } } } } } }",
    "query($from: Date!, $to: Date!) { organization { campaigns(first: 3) { edges { node { "
    "performance(from: $from, to: $to) { impressions } } } } } }",
    # Children of every parent of a level: orders, filters, counts, cursors, and a page too large for each.
    "{ organization { channels(first: 4) { edges { node { platform campaigns(first: 2, orderBy: [{field: SPEND, "
    "direction: DESC}]) { totalCount countsByStatus { status count } pageInfo { hasNextPage endCursor } "
    "edges { cursor node { name creatives(last: 2, filter: {statuses: [ACTIVE, PAUSED]}) { edges { node { name } } } "
    "} } } big: campaigns(first: 500) { totalCount } } } } } }",
    # A page written from rows beside the same edges built as objects: every column is read.
    "{ organization { campaigns(first: 3) { edges { node { name } } more: edges { node { channel { name } } } } } }",
    "{ organization { creatives(first: 3) { edges { node { name } } more: edges { node { campaign { name } } } } } }",
    "{ organization { campaigns(first: 3) { edges { node { name } } more: edges { node { objective startDate "
    'externalId performance(from: "2026-01-01", to: "2026-01-31") { clicks } } } } } }',
    "{ organization { channels(first: 2) { edges { node { campaigns(first: 2) { edges { node { name } } "
    "more: edges { node { objective updatedAt creatives(first: 1) { totalCount } } } } } } } } }",
    # A batched field before a failing sibling: the error graphql-core meets first wins.
    '{ organization { campaigns(first: 2) { edges { node { performance(from: "2026-02-01", to: "2026-01-01") '
    '{ clicks } dailyMetrics(from: "2026-02-01", to: "2026-01-01") { date } } } } } }',
    # Totals written from their rows: every field, aliases, __typename, money in the row's currency,
    # ratios with zero denominators (a range without metrics: zeros and nulls), beside page leaves.
    "query($from: Date!, $to: Date!) { organization { campaigns(first: 4) { edges { cursor node { id "
    "p: performance(from: $from, to: $to) { __typename currency impressions clicks conversions ctr roas "
    "spend { __typename amount currency } s: spend { amount } revenue { amount currency } cpc { amount currency } "
    'cpa { currency } } none: performance(from: "2020-01-01", to: "2020-01-31") { ctr roas cpc { amount } '
    "cpa { amount } spend { amount currency } } } } } } }",
    "query($from: Date!, $to: Date!) { organization { campaigns(first: 3) { edges { node { name "
    "creatives(first: 4) { pageInfo { hasNextPage } edges { cursor node { __typename id name status "
    "performance(from: $from, to: $to) { spend { amount currency } roas ctr } format "
    "campaign { name } } } } } } } } }",
    # The same totals through a list (not a page), and a page of creatives with only the totals selected.
    "query($from: Date!, $to: Date!) { organization { creatives(first: 5) { edges { node { "
    "performance(from: $from, to: $to) { cpc { amount currency } cpa { amount } } } } } "
    "channels(first: 2) { edges { node { performance(from: $from, to: $to) { currency roas } } } } } }",
]


async def test_batched_fields_answer_alike(harness: Harness) -> None:
    failures: list[str] = []
    for principal in harness.principals:
        for query in BATCHED_CASES:
            for variables in ({"from": "2026-01-01", "to": "2026-03-31"}, {"from": "2026-03-31", "to": "2026-01-01"}):
                used = variables if "$from" in query else {}
                failures.extend(await harness.compare(principal, query, used))
    assert not failures, failures[0]
    answer = json.loads(await harness.run(harness.principals[2], "planned", BATCHED_CASES[0], {}))
    assert answer["errors"] and all(e["path"][-1] == "b" for e in answer["errors"])
    plan = next(p for (_, text, _), p in _documents.items() if text == BATCHED_CASES[0])
    assert plan is not None
    organization = next(iter(plan.roots.values())).fields[0].completion.plans["Organization"]
    campaign_edge = organization.fields[0].completion.plans["CampaignConnection"].fields[0].completion.item
    campaign = campaign_edge.plans["CampaignEdge"].fields[0].completion.plans["Campaign"]  # type: ignore[union-attr]
    # One call per level for all the campaigns selecting it, not one per campaign.
    assert next(f for f in campaign.fields if f.key == "performance").batch is not None
    assert next(f for f in campaign.fields if f.key == "creatives").batch is not None


async def test_totals_and_documents_are_written_without_objects(harness: Harness) -> None:
    query = (
        "query($from: Date!, $to: Date!) { organization { campaigns(first: 2) { edges { node { name "
        "performance(from: $from, to: $to) { spend { amount currency } roas } creatives(first: 2) { edges { node "
        "{ name performance(from: $from, to: $to) { ctr } } } } } } } workflows(first: 2) { edges { node { name "
        "executions(first: 2) { edges { node { status } } } } } } auditLogs(first: 2) { edges { node { action } } } "
        "members(first: 2) { edges { node { email } } } } }"
    )
    variables = {"from": "2026-01-01", "to": "2026-03-31"}
    assert not json.loads(await harness.run(harness.principals[2], "planned", query, variables))["errors"]
    plan = next(p for (_, text, _), p in _documents.items() if text == query)
    assert plan is not None
    organization = next(iter(plan.roots.values())).fields[0].completion.plans["Organization"]
    pages = {f.key: f.completion.plans[f.completion.type.name] for f in organization.fields}

    def item(page: Any) -> Any:
        return page.fields[0].completion.item.plans[page.fields[0].completion.item.type.name].fields[0]

    campaign = item(pages["campaigns"])
    performance = next(f for f in campaign.completion.plans["Campaign"].fields if f.key == "performance")
    # The batch answers rows; the selection (with its Money) is one function over a row.
    assert performance.batch_rows is not None
    assert performance.completion.plans["Performance"].from_source is not None
    # Pages of documents: written whole, or (workflows) with the runs left to the general path.
    for key in ("auditLogs", "members", "workflows"):
        assert pages[key].fast is not None and pages[key].general == [], key
    assert [[f.key for f in rest.fields] for _, _, rest in pages["workflows"].deferred] == [["executions"]]
    assert pages["auditLogs"].deferred == [] and pages["members"].deferred == []


async def test_a_document_the_builder_refuses_fails_alike_when_its_field_is_not_selected(harness: Harness) -> None:
    # A document is not held to a schema: the standard executor builds whole objects and fails on
    # a missing key or an unknown enum value even where the query does not select that field.
    principal = harness.principals[2]
    mongo = harness.gateway.mongo.tenant(principal.organization.enterprise_id)
    inserted = [
        await mongo.insert_one("agentkit_workflows", {"name": "zz unknown status", "status": "deleted"}),
        await mongo.insert_one("agentkit_workflows", {"status": "active"}),  # no name
    ]
    try:
        for query in (
            "{ organization { workflows(first: 100) { edges { node { id } } } } }",
            '{ organization { workflows(first: 100, filter: {nameContains: "zz"}) { edges { node { version } } } } }',
        ):
            assert await harness.compare(principal, query, {}) == []
            answer = json.loads(await harness.run(principal, "planned", query, {}))
            assert answer["data"]["organization"]["workflows"] is None and answer["errors"], answer
    finally:
        for result in inserted:
            await mongo.delete_one("agentkit_workflows", {"_id": result})


# Reads by platform id (lookups, list filters) and the sync job's links, on rows that exist and ids that do not.
PLATFORM_ID_CASES = [
    "query($p: Platform!, $c: String!, $k: String!) { organization { campaign(platform: $p, externalId: $c) { "
    "__typename id name externalId dailyBudget { amount } channel { id name externalAccountId } } "
    "creative(platform: $p, externalId: $k) { id headline format campaign { id externalId } } "
    'none: campaign(platform: $p, externalId: "no-such-id") { id } '
    'channel(platform: $p, externalAccountId: "no-such-account") { id name } } }',
    "query($c: String!, $k: String!) { organization { campaigns(first: 3, filter: {externalId: $c}) { edges { node "
    "{ id externalId } } } creatives(first: 3, filter: {externalId: $k}) { edges { node { id externalId } } } "
    'channels(first: 10, filter: {externalAccountId: "x"}) { edges { node { id } } } '
    "all: channels(first: 10) { edges { node { id platform externalAccountId } } } } }",
    "{ organization { syncJobs(first: 5) { edges { node { id status channel { id name externalAccountId } "
    "credential { id keyHint platform } } } } } }",
]


async def test_reads_by_platform_id_answer_alike(harness: Harness) -> None:
    failures: list[str] = []
    for principal in harness.principals:
        found = await harness.run(
            principal,
            "standard",
            "{ organization { campaigns(first: 1) { edges { node { externalId channel { platform } "
            "creatives(first: 1) { edges { node { externalId } } } } } } } }",
            {},
        )
        organization = (json.loads(found)["data"] or {}).get("organization") or {}
        edges = (organization.get("campaigns") or {}).get("edges") or []
        campaign = edges[0]["node"] if edges else {"externalId": "x", "channel": {"platform": "META"}}
        creatives = (campaign.get("creatives") or {}).get("edges") or [{"node": {"externalId": "y"}}]
        variables = {
            "p": campaign["channel"]["platform"],
            "c": campaign["externalId"],
            "k": creatives[0]["node"]["externalId"],
        }
        for query in PLATFORM_ID_CASES:
            used = {k: v for k, v in variables.items() if f"${k}" in query}
            failures.extend(await harness.compare(principal, query, used))
    assert not failures, failures[0]


# Pages PostgreSQL writes whole (see resolvers/execution/in_postgres.py), and shapes just beside them
# that it does not write: arguments it would refuse, fields it does not cover, nulls, aliases, fragments.
IN_POSTGRES_CASES = [
    "query($n: Int, $from: Date!, $to: Date!) { organization { campaigns(first: $n) { __typename "
    "edges { __typename node { __typename id name externalId status objective dailyBudget { __typename amount "
    "currency } b: dailyBudget { currency } creatives(first: 3) { __typename edges { node { id name format "
    "status headline p: performance(from: $from, to: $to) { clicks impressions conversions ctr cpc { amount } } "
    "} } } performance(from: $from, to: $to) { __typename currency roas ctr cpa { amount currency } "
    "spend { amount currency } revenue { amount } } } } e: edges { node { name } } } } }",
    "{ organization { campaigns(first: 0) { edges { node { id } } } } }",
    "{ organization { campaigns(first: 101) { edges { node { id } } } } }",
    "{ organization { campaigns { edges { node { ...C creatives(first: 0) { edges { node { id } } } } } } } } "
    "fragment C on Campaign { name status }",
    "{ organization { campaigns(first: 2) { edges { node { creatives(first: 500) { edges { node { id } } } } } } } }",
    "query($from: Date!, $to: Date!) { organization { campaigns(first: 2) { edges { node { "
    "performance(from: $to, to: $from) { roas } } } } } }",
    '{ organization { campaigns(first: 3) { edges { node { performance(from: "2020-01-01", to: "2020-01-31") '
    "{ ctr roas cpc { amount } cpa { currency } spend { amount } revenue { amount currency } } } } } } }",
    # Beside: shapes it leaves to the general path, answered alike all the same.
    "{ organization { campaigns(first: 2) { totalCount edges { node { name createdAt } } } } }",
    "{ organization { campaigns(first: 2) { edges { cursor node { name channel { name } } } } } }",
]


async def test_pages_written_by_postgres_answer_alike(harness: Harness) -> None:
    failures: list[str] = []
    for principal in harness.principals:  # every role, and a partner token without reads
        for query in IN_POSTGRES_CASES:
            for variables in ({"n": 4, "from": "2026-01-01", "to": "2026-03-31"}, {"n": 101, "from": "x", "to": "y"}):
                used = {k: v for k, v in variables.items() if f"${k}" in query}
                if "from" in used and used["from"] == "x":
                    used.update({"from": "2026-03-31", "to": "2026-01-01"})  # a reversed range
                failures.extend(await harness.compare(principal, query, used))
    assert not failures, failures[0]
    query = (BENCH / "campaigns.graphql").read_text()
    await harness.run(harness.principals[2], "planned", query, {})
    plan = next(p for (_, text, _), p in _documents.items() if text == query)
    assert plan is not None
    organization = next(iter(plan.roots.values())).fields[0].completion.plans["Organization"]
    written = organization.fields[0].written
    assert written is not None and [p.name for p in written.params] == ["first", "first"]


async def test_a_page_postgres_cannot_write_exactly_is_read_as_rows(harness: Harness, seeded: Stores) -> None:
    # Three billion impressions in a day: more than GraphQL's Int holds. The standard executor
    # fails the field; the statement will not write the number, it answers "not exact", and the
    # resolver reads the rows and fails alike.
    conn = await asyncpg.connect(seeded.database_url)
    principal = harness.principals[2]
    creative = await conn.fetchrow(
        "SELECT k.id, k.campaign_id, c.channel_id FROM creatives k JOIN campaigns c ON c.id = k.campaign_id "
        "WHERE k.organization_id = $1 ORDER BY c.name, c.id, k.name, k.id LIMIT 1",
        principal.organization.brain_id,
    )
    day = dt.date(2031, 1, 1)
    query = (
        "{ organization { campaigns(first: 1) { edges { node { creatives(first: 1) { edges { node { name "
        'performance(from: "2031-01-01", to: "2031-01-01") { impressions clicks } } } } } } } } }'
    )
    try:
        await conn.execute(
            "INSERT INTO daily_metrics (organization_id, creative_id, date, campaign_id, channel_id, impressions, "
            "clicks, spend, conversions, revenue) VALUES ($1, $2, $3, $4, $5, 3000000000, 1, 0, 0, 0)",
            principal.organization.brain_id,
            creative["id"],
            day,
            creative["campaign_id"],
            creative["channel_id"],
        )
        assert await harness.compare(principal, query, {}) == []
        answer = json.loads(await harness.run(principal, "planned", query, {}))
        assert "32-bit" in answer["errors"][0]["message"], answer
    finally:
        await conn.execute("DELETE FROM daily_metrics WHERE creative_id = $1 AND date = $2", creative["id"], day)
        await conn.close()


async def test_a_read_leaves_nothing_in_reference_cycles(harness: Harness) -> None:
    # Workers collect young objects rarely (`gateway/core/runtime.py`): that is only safe while
    # a request's objects die by reference counting, without waiting for the collector.
    today = dt.datetime.now(dt.UTC).date()
    dashboard = {"n": 5, "m": 5, "from": str(today - dt.timedelta(days=29)), "to": str(today)}
    cases = [
        ("planned", (BENCH / "campaigns.graphql").read_text(), {}),
        ("planned", (BENCH / "dashboard.graphql").read_text(), dashboard),
        ("standard", (BENCH / "dashboard.graphql").read_text(), dashboard),
    ]
    for executor, query, variables in cases:
        await harness.run(harness.principals[2], executor, query, variables)  # plans and caches made
        gc.collect()
        gc.disable()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            await harness.run(harness.principals[2], executor, query, variables)
            gc.collect()
            left = {type(o).__name__ for o in gc.garbage}
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
        assert not left & {"RequestContext", "RequestExecutor", "Run"}, left
