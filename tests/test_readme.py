"""The README's example queries run as written (so the README cannot drift from the schema)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import httpx
import pytest

from gateway.graphiql import example_queries, example_variables
from tests.conftest import gql
from tests.support.issuer import TestIssuer

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
QUERIES = [block for block in re.findall(r"```graphql\n(.*?)```", README, re.S) if block.lstrip().startswith("query")]
# The same values GraphiQL's example tabs start with.
VARIABLES = example_variables(dt.datetime.now(dt.UTC).date())


def test_readme_has_examples() -> None:
    assert len(QUERIES) >= 3


def test_readme_shows_the_graphiql_examples() -> None:
    """GraphiQL opens gateway/static/graphiql/examples.graphql as tabs; the README shows the same queries."""
    assert tuple(QUERIES) == example_queries()


@pytest.mark.parametrize("query", QUERIES, ids=[re.search(r"query (\w+)", q).group(1) for q in QUERIES])  # type: ignore[union-attr]
async def test_readme_query_runs(client: httpx.AsyncClient, issuer: TestIssuer, query: str) -> None:
    used = {name: value for name, value in VARIABLES.items() if f"${name}" in query}
    body = await gql(client, query, used, token=issuer.token("acme", "admin"))
    assert "errors" not in body, body["errors"]
    assert body["data"]["organization"]
