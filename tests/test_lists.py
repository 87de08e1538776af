"""Lists of the Brain store: keyset cursors, filters, orderings and counts by status, over real HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest

from tests.conftest import Stores, gql
from tests.support.issuer import TestIssuer


async def q(client: httpx.AsyncClient, issuer: TestIssuer, query: str, org: str = "acme", **variables: Any) -> Any:
    body = await gql(client, query, variables, token=issuer.token(org, "admin"))
    assert "errors" not in body, body["errors"]
    return body["data"]["organization"]


async def error(client: httpx.AsyncClient, issuer: TestIssuer, query: str, org: str = "acme", **variables: Any) -> Any:
    body = await gql(client, query, variables, token=issuer.token(org, "admin"))
    assert body.get("errors"), body
    return body["errors"][0]


@pytest.fixture
async def owner(seeded: Stores) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(seeded.database_url)
    try:
        yield conn
    finally:
        await conn.close()


async def org_id(conn: asyncpg.Connection, slug: str) -> UUID:
    found: UUID = await conn.fetchval("SELECT id FROM organizations WHERE slug = $1", slug)
    return found


async def insert_jobs(conn: asyncpg.Connection, slug: str, times: list[dt.datetime]) -> list[UUID]:
    """Sync jobs created at `times` (as the owner, like another gateway's writes); their ids."""
    org = await org_id(conn, slug)
    ids = [uuid4() for _ in times]
    await conn.executemany(
        "INSERT INTO sync_jobs (id, organization_id, platform, status, records_synced, created_at) "
        "VALUES ($1, $2, 'meta', 'queued', 0, $3)",
        list(zip(ids, [org] * len(ids), times, strict=True)),
    )
    return ids


JOBS = """query($first: Int, $after: String, $last: Int, $before: String) { organization {
  syncJobs(first: $first, after: $after, last: $last, before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id createdAt } } } } }"""


def ids_of(connection: dict[str, Any]) -> list[str]:
    return [e["node"]["id"] for e in connection["edges"]]


async def test_keyset_pages_do_not_shift_when_rows_are_inserted_before_them(
    client: httpx.AsyncClient, issuer: TestIssuer, owner: asyncpg.Connection
) -> None:
    everything = ids_of((await q(client, issuer, JOBS, org="initech", first=100))["syncJobs"])
    page1 = (await q(client, issuer, JOBS, org="initech", first=5))["syncJobs"]
    assert ids_of(page1) == everything[:5]
    assert page1["pageInfo"]["hasPreviousPage"] is False and page1["pageInfo"]["hasNextPage"] is True
    # Newer jobs sort before page 1 (newest first); an offset cursor would now repeat page 1's tail.
    now = dt.datetime.now(dt.UTC)
    inserted = await insert_jobs(owner, "initech", [now + dt.timedelta(minutes=i) for i in range(3)])
    try:
        page2 = await q(client, issuer, JOBS, org="initech", first=5, after=page1["pageInfo"]["endCursor"])
        page2 = page2["syncJobs"]
        assert ids_of(page2) == everything[5:10]
        assert page2["pageInfo"]["hasPreviousPage"] is True
        # Backwards from page 2: exactly page 1, however many rows now precede it.
        back = await q(client, issuer, JOBS, org="initech", last=5, before=page2["pageInfo"]["startCursor"])
        back = back["syncJobs"]
        assert ids_of(back) == everything[:5]
        assert back["pageInfo"]["hasPreviousPage"] is True and back["pageInfo"]["hasNextPage"] is True
        # `last` alone reads the end of the list without counting it.
        tail = (await q(client, issuer, JOBS, org="initech", last=4))["syncJobs"]
        assert ids_of(tail) == everything[-4:]
        assert tail["pageInfo"]["hasNextPage"] is False and tail["pageInfo"]["hasPreviousPage"] is True
        # first + before and after + last: the rows between two cursors.
        between_first = (
            await q(
                client,
                issuer,
                JOBS,
                org="initech",
                first=2,
                after=page1["edges"][1]["cursor"],
                before=page2["edges"][1]["cursor"],
            )
        )["syncJobs"]
        assert ids_of(between_first) == everything[2:4] and between_first["pageInfo"]["hasNextPage"] is True
        between_last = (
            await q(
                client,
                issuer,
                JOBS,
                org="initech",
                last=10,
                after=page1["edges"][1]["cursor"],
                before=page2["edges"][1]["cursor"],
            )
        )["syncJobs"]
        assert ids_of(between_last) == everything[2:6] and between_last["pageInfo"]["hasPreviousPage"] is False
    finally:
        await owner.execute("DELETE FROM sync_jobs WHERE id = ANY($1::uuid[])", inserted)


async def test_a_cursor_of_another_list_is_refused(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    jobs = (await q(client, issuer, JOBS, org="initech", first=1))["syncJobs"]
    refused = await error(
        client,
        issuer,
        "query($after: String) { organization { actionLogs(first: 1, after: $after) { totalCount } } }",
        after=jobs["pageInfo"]["endCursor"],
    )
    assert refused["extensions"]["code"] == "BAD_USER_INPUT" and "another connection" in refused["message"]
