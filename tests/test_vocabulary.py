"""The schema's one vocabulary over real HTTP: `UserError` fragments, `Currency` inputs, one execution filter."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest

from tests.conftest import gql
from tests.support.issuer import TestIssuer
from tests.test_enterprise_mutations import seeded_workflow

CAMPAIGNS = """query($currency: [Currency!]) { organization {
  campaigns(first: 100, filter: {currency: $currency}) { totalCount edges { node { dailyBudget { amount currency } } } }
} }"""


async def data(client: httpx.AsyncClient, token: str, query: str, **variables: Any) -> Any:
    body = await gql(client, query, variables, token=token)
    assert "errors" not in body, body
    return body["data"]


async def test_campaigns_filter_by_currency(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    token = issuer.token("acme", "analyst")
    every = (await data(client, token, CAMPAIGNS, currency=None))["organization"]["campaigns"]
    by_currency = Counter(e["node"]["dailyBudget"]["currency"] for e in every["edges"])
    assert len(by_currency) >= 2 and every["totalCount"] == sum(by_currency.values())
    for currency, count in by_currency.items():
        some = (await data(client, token, CAMPAIGNS, currency=[currency]))["organization"]["campaigns"]
        assert some["totalCount"] == count
        assert {e["node"]["dailyBudget"]["currency"] for e in some["edges"]} == {currency}
    both = (await data(client, token, CAMPAIGNS, currency=list(by_currency)))["organization"]["campaigns"]
    assert both["totalCount"] == every["totalCount"]


@pytest.mark.parametrize("currency", ["usd", "US", "EURO", "XXX", "XAU", "", 840, None])
async def test_an_unknown_currency_is_bad_user_input(
    client: httpx.AsyncClient, issuer: TestIssuer, currency: object
) -> None:
    token = issuer.token("acme", "analyst")
    body = await gql(client, CAMPAIGNS, {"currency": [currency]}, token=token)
    assert body.get("data") is None and [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    literal = f"{{ organization {{ campaigns(filter: {{currency: [{currency!r}]}}) {{ totalCount }} }} }}"
    body = await gql(client, literal.replace("'", '"').replace("None", "null"), token=token)
    assert [e["extensions"]["code"] for e in body["errors"]] in (["BAD_USER_INPUT"], ["GRAPHQL_VALIDATION_FAILED"])


async def test_amounts_are_decimals_written_as_before(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    every = await data(client, issuer.token("acme", "analyst"), CAMPAIGNS, currency=None)
    for edge in every["organization"]["campaigns"]["edges"]:
        amount = edge["node"]["dailyBudget"]["amount"]
        assert isinstance(amount, str) and amount.split(".")[1].isdigit() and len(amount.split(".")[1]) == 2


UPDATE = """mutation($input: UpdateWorkflowInput!) { updateWorkflow(input: $input) {
  workflow { version } userErrors { __typename ...Refused } } }
fragment Refused on UserError { code message field }"""


async def test_a_stale_version_reads_through_the_user_error_interface(
    client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    token = issuer.token("globex", "admin")
    workflow = {"workflowId": seeded_workflow(5), "expectedVersion": 1_000, "name": "Never"}
    result = (await data(client, token, UPDATE, input=workflow))["updateWorkflow"]
    (error,) = result["userErrors"]
    assert result["workflow"] is None
    assert (error["__typename"], error["code"], error["field"]) == (
        "WorkflowError",
        "VERSION_CONFLICT",
        "expectedVersion",
    )
    assert "not 1000" in error["message"]


EXECUTIONS = """query($mine: ID, $other: ID) { organization {
  all: executions(first: 1, filter: {workflowId: $mine}) { totalCount }
  workflows(first: 50) { edges { node { id
    executions(first: 1) { totalCount }
    mine: executions(first: 1, filter: {workflowId: $mine}) { totalCount }
    other: executions(first: 1, filter: {workflowId: $other}) { totalCount } } } }
} }"""


async def test_one_execution_filter_narrows_both_lists(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    token = issuer.token("globex", "admin")
    mine, other = seeded_workflow(0), seeded_workflow(1)
    organization = (await data(client, token, EXECUTIONS, mine=mine, other=other))["organization"]
    by_id = {e["node"]["id"]: e["node"] for e in organization["workflows"]["edges"]}
    own = by_id[mine]
    assert own["executions"]["totalCount"] > 0
    assert own["mine"]["totalCount"] == own["executions"]["totalCount"] == organization["all"]["totalCount"]
    assert own["other"]["totalCount"] == 0
    assert by_id[other]["mine"]["totalCount"] == 0
    assert by_id[other]["other"]["totalCount"] == by_id[other]["executions"]["totalCount"]
    # Another organization's workflow narrows to nothing, never to its runs.
    foreign = await data(client, token, EXECUTIONS, mine=seeded_workflow(0, "acme"), other=other)
    assert foreign["organization"]["all"]["totalCount"] == 0
