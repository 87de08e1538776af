"""Forged cursor values, one kind at a time, on a Brain list and on enterprise lists.

Cursors are base64 JSON and not signed: a client can rewrite the sort values
inside a real cursor and keep its list key and ordering digest. Each test takes a
real cursor, replaces one value by something no column holds (an instant without
a UTC form, an integer past int64, NaN, a decimal past the column's scale, a NUL,
a lone surrogate, an over-long text, a value of another kind or shape) and checks
the answer is `BAD_USER_INPUT` for that list, nothing logged at ERROR. The real
cursor still pages, so the refusals are about the values and nothing else.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.issuer import TestIssuer

ORG = "globex"
NAN, INF = float("nan"), float("inf")

BAD_SHAPES: list[Any] = [["s"], ["s", "a", "b"], {"s": "a"}, 5, "s"]
BAD_TIMES: list[Any] = [
    ["t", "0001-01-01T00:00:00+14:00"],  # year 0 in UTC
    ["t", "9999-12-31T23:59:59-14:00"],  # year 10000 in UTC
    ["t", "2026-01-01T00:00:00"],  # no offset: compares with no stored instant
    ["t", "not a date"],
    ["t", 5],
    ["s", "2026-01-01T00:00:00+00:00"],  # another kind
]
BAD_TEXTS: list[Any] = [["s", "a\u0000b"], ["s", "a\ud800b"], ["s", "x" * 2001], ["s", 5], ["i", 5]]
BAD_INTS: list[Any] = [["i", 2**63], ["i", -(2**63) - 1], ["i", 1.5], ["i", "5"], ["i", True], ["f", 5.0]]
BAD_FLOATS: list[Any] = [["f", NAN], ["f", INF], ["f", -INF], ["f", 10**400], ["f", "1.5"], ["f", True]]
BAD_DECIMALS: list[Any] = [
    ["n", "1.001"],  # a third decimal place
    ["n", "1e30"],  # more digits than any amount
    ["n", "NaN"],
    ["n", "Infinity"],
    ["n", "1E+400"],
    ["n", "abc"],
    ["n", 5],
]
BAD_DATES: list[Any] = [["d", "0000-01-01"], ["d", "2026-02-30"], ["d", 20260101], ["t", "2026-01-01T00:00:00+00:00"]]
BAD_UUIDS: list[Any] = [["u", "zz"], ["u", 5], None]  # the tie-break is never null
BAD_OBJECT_IDS: list[Any] = [["o", "zz"], ["o", "a" * 12], None]

CAMPAIGNS = """query($after: String, $order: [CampaignOrder!]) { organization {
  campaigns(first: 2, after: $after, orderBy: $order) { pageInfo { endCursor } edges { node { id } } } } }"""
EXECUTIONS = """query($after: String, $order: [WorkflowExecutionOrder!]) { organization {
  executions(first: 2, after: $after, orderBy: $order) { pageInfo { endCursor } edges { node { id } } } } }"""
WORKFLOWS = """query($after: String, $order: [WorkflowOrder!]) { organization {
  workflows(first: 2, after: $after, orderBy: $order) { pageInfo { endCursor } edges { node { id } } } } }"""
MEMBERS = """query($after: String, $order: [MemberOrder!]) { organization {
  members(first: 2, after: $after, orderBy: $order) { pageInfo { endCursor } edges { node { email } } } } }"""
LISTS = {"campaigns": CAMPAIGNS, "executions": EXECUTIONS, "workflows": WORKFLOWS, "members": MEMBERS}


@pytest.fixture(autouse=True)
def quiet(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.INFO)
    yield
    loud = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR or r.exc_info]
    assert not loud, [(r.name, r.levelname, r.getMessage()) for r in loud]


def decode(cursor: str) -> list[Any]:
    data: list[Any] = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    return data


def encode(data: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


async def page(
    client: httpx.AsyncClient, token: str, name: str, order: list[dict[str, str]], after: str | None = None
) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": LISTS[name], "variables": {"after": after, "order": order}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def forged_pages(
    client: httpx.AsyncClient, issuer: TestIssuer, name: str, field: str, position: int, values: list[Any]
) -> None:
    """Replace the sort value at `position` (0: the first key; -1: the tie-break) of a real cursor by each value."""
    token = issuer.token(ORG, "owner")
    order = [{"field": field, "direction": "DESC"}]
    first = await page(client, token, name, order)
    cursor = first["data"]["organization"][name]["pageInfo"]["endCursor"]
    assert cursor, first
    real = decode(cursor)
    again = await page(client, token, name, order, cursor)
    assert "errors" not in again, again  # the real cursor pages
    for value in values:
        data = list(real)
        data[2 + position if position >= 0 else position] = value
        body = await page(client, token, name, order, encode(data))
        errors = body.get("errors") or []
        assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"], (field, value, body)
        assert errors[0]["path"] == ["organization", name] and "cursor" in errors[0]["message"], body
        assert body["data"] == {"organization": {name: None}}, body


# --- a Brain list: campaigns (PostgreSQL) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("NAME", BAD_TEXTS + BAD_SHAPES),
        ("CREATED_AT", BAD_TIMES),
        ("START_DATE", BAD_DATES),
        ("DAILY_BUDGET", BAD_DECIMALS),
        ("ROAS", BAD_FLOATS),
        ("IMPRESSIONS", BAD_INTS),
    ],
)
async def test_campaign_cursor_values_are_checked(
    client: httpx.AsyncClient, issuer: TestIssuer, field: str, values: list[Any]
) -> None:
    await forged_pages(client, issuer, "campaigns", field, 0, values)


async def test_campaign_cursor_tie_break_is_checked(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    await forged_pages(client, issuer, "campaigns", "NAME", -1, BAD_UUIDS)


# --- enterprise lists (MongoDB, and members joined in the gateway) ---------------------------------


@pytest.mark.parametrize(
    ("name", "field", "values"),
    [
        ("executions", "CREATED_AT", BAD_TIMES),
        ("executions", "STATUS", BAD_TEXTS + BAD_SHAPES),
        ("workflows", "VERSION", BAD_INTS),
        ("members", "LAST_LOGIN_AT", BAD_TIMES),
        ("members", "ROLE", BAD_INTS),
    ],
)
async def test_enterprise_cursor_values_are_checked(
    client: httpx.AsyncClient, issuer: TestIssuer, name: str, field: str, values: list[Any]
) -> None:
    await forged_pages(client, issuer, name, field, 0, values)


async def test_enterprise_cursor_tie_break_is_checked(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    await forged_pages(client, issuer, "executions", "CREATED_AT", -1, BAD_OBJECT_IDS)


async def test_a_cursor_nested_past_the_recursion_limit_is_bad_input(
    client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    nested = base64.urlsafe_b64encode(b"[" * 1500 + b"]" * 1500).decode()
    assert len(nested) < 4096  # under the length limit: refused while decoding
    body = await page(client, issuer.token(ORG, "owner"), "campaigns", [{"field": "NAME"}], nested)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], body
