"""The README's example queries run as written (so the README cannot drift from the schema)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import re
import shutil
from pathlib import Path

import httpx
import pytest

from gateway.data.ids import from_global_id
from gateway.http.graphiql import example_queries, example_variables
from tests.conftest import gql
from tests.support.docs import DOCS
from tests.support.issuer import TestIssuer
from tests.support.servers import ServerThread

README = DOCS  # README.md and docs/*.md: every snippet there runs as written
QUERIES = [block for block in re.findall(r"```graphql\n(.*?)```", README, re.S) if block.lstrip().startswith("query")]
# The same values GraphiQL's example tabs start with.
VARIABLES = example_variables(dt.datetime.now(dt.UTC).date())


def test_readme_has_examples() -> None:
    assert len(QUERIES) >= 3


def test_readme_shows_the_graphiql_examples() -> None:
    """GraphiQL opens gateway/http/static/graphiql/examples.graphql as tabs; the README shows the same queries."""
    assert tuple(QUERIES) == example_queries()


@pytest.mark.parametrize("query", QUERIES, ids=[re.search(r"query (\w+)", q).group(1) for q in QUERIES])  # type: ignore[union-attr]
async def test_readme_query_runs(client: httpx.AsyncClient, issuer: TestIssuer, query: str) -> None:
    used = {name: value for name, value in VARIABLES.items() if f"${name}" in query}
    body = await gql(client, query, used, token=issuer.token("acme", "admin"))
    assert "errors" not in body, body["errors"]
    assert body["data"]["organization"]


CLIENTS = Path(__file__).resolve().parent / "clients"
JS_BLOCKS = re.findall(r"```js\n(.*?)```", README, re.S)
SHIFT = "mutation($i: ShiftBudgetInput!) { shiftBudget(input: $i) { userErrors { code } } }"


@pytest.mark.skipif(
    shutil.which("node") is None or not (CLIENTS / "node_modules" / "graphql-ws").exists(),
    reason="needs node and `npm ci` in tests/clients (scripts/setup runs it)",
)
async def test_readme_subscription_snippet_runs_as_written(
    client: httpx.AsyncClient, gateway: ServerThread, issuer: TestIssuer, tmp_path: Path
) -> None:
    """The README's graphql-ws snippet, unchanged but for the URL, receives a committed action."""
    snippet = next(block for block in JS_BLOCKS if "createClient" in block)
    script = CLIENTS / f"readme-subscribe-{tmp_path.name}.mjs"  # beside node_modules, so imports resolve
    script.write_text(
        snippet.replace("wss://api.example.com/graphql", gateway.url.replace("http://", "ws://") + "/graphql")
    )
    node = await asyncio.create_subprocess_exec(
        "node",
        str(script),
        env={**os.environ, "OMNIFY_TOKEN": issuer.token("acme", "viewer")},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert node.stdout is not None
        marketer = issuer.token("acme", "marketer")
        campaigns = await gql(
            client,
            "{ organization { campaigns(first: 100, filter: {status: [ACTIVE]}) { edges { node { id dailyBudget { currency } } } } } }",
            token=marketer,
        )
        usd = [
            e["node"]["id"]
            for e in campaigns["data"]["organization"]["campaigns"]["edges"]
            if e["node"]["dailyBudget"]["currency"] == "USD"
        ]
        printed = b""
        # The socket may still be subscribing when a shift commits (events are not replayed):
        # shift back and forth until the script prints one.
        for attempt in range(20):
            pair = (usd[0], usd[1]) if attempt % 2 == 0 else (usd[1], usd[0])
            answer = await gql(
                client,
                SHIFT,
                {"i": {"fromCampaignId": pair[0], "toCampaignId": pair[1], "amount": "0.01"}},
                token=marketer,
            )
            assert answer["data"]["shiftBudget"]["userErrors"] == [], answer
            with contextlib.suppress(TimeoutError):
                printed += await asyncio.wait_for(node.stdout.readline(), timeout=3)
            if b"SHIFT_BUDGET" in printed:
                break
        if attempt % 2 == 0:  # the budgets end as they began
            await gql(
                client,
                SHIFT,
                {"i": {"fromCampaignId": usd[1], "toCampaignId": usd[0], "amount": "0.01"}},
                token=marketer,
            )
        assert b"action: 'SHIFT_BUDGET'" in printed, printed
    finally:
        node.kill()
        _, errors = await node.communicate()
        script.unlink()
    assert b"Error" not in errors, errors


async def test_readme_id_example_is_the_id_it_names(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    """The README's example id is `Campaign:not-a-uuid` encoded as ids are, and answers as it says."""
    example = re.search(r"`(\w+)` is `Campaign:not-a-uuid`", README)
    assert example is not None
    assert from_global_id(example.group(1)) == ("Campaign", "not-a-uuid")
    body = await gql(client, "query($id: ID!) { node(id: $id) { id } }", {"id": example.group(1)}, token=issuer.token())
    assert body == {"data": {"node": None}}
