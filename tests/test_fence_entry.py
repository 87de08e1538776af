"""A read's first statement enters the tenancy itself: the fence holds in that statement, whatever its shape."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from gateway.errors import StoreUnavailable
from gateway.ops.migrations import fence_pads
from gateway.ops.seed import uid
from gateway.stores.fence import FenceKey, FenceKeys, entering
from gateway.stores.postgres import PostgresStore
from tests.conftest import Stores

ACME, GLOBEX = uid("org", "acme"), uid("org", "globex")

# First statements of every shape the planner treats apart: a plain scan, a sorted page, a hash join, an
# aggregate, a CTE, a semi-join, a set operation, a window, a statement that asks the fence itself.
SHAPES = [
    ("SELECT count(*) FROM campaigns", ()),
    ("SELECT id FROM campaigns ORDER BY id LIMIT 7", ()),
    (
        "SELECT count(*) FROM creatives cr JOIN campaigns c ON c.id = cr.campaign_id "
        "JOIN daily_metrics m ON m.creative_id = cr.id",
        (),
    ),
    ("SELECT organization_id, count(*) FROM daily_metrics GROUP BY organization_id", ()),
    ("WITH c AS MATERIALIZED (SELECT id FROM campaigns) SELECT count(*) FROM c", ()),
    ("SELECT count(*) FROM creatives WHERE campaign_id IN (SELECT id FROM campaigns WHERE organization_id = $1)", None),
    ("SELECT id FROM campaigns UNION ALL SELECT id FROM creatives", ()),
    ("SELECT count(*) OVER () FROM channels LIMIT 1", ()),
    ("SELECT app_organization_id()", ()),
]


@pytest.fixture
async def store(seeded: Stores) -> AsyncIterator[PostgresStore]:
    store = PostgresStore(seeded.app_url, max_size=1, timeout_s=5.0, system_url=seeded.system_url)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def owner(seeded: Stores) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(seeded.database_url)
    try:
        yield conn
    finally:
        await conn.close()


def _rows(rows: list[asyncpg.Record]) -> list[tuple[Any, ...]]:
    return sorted((tuple(r) for r in rows), key=repr)


async def test_every_first_statement_reads_inside_its_tenancy(store: PostgresStore, owner: asyncpg.Connection) -> None:
    """Run first (entering) and again later in the same snapshot, and alone: the same rows, all the tenant's own."""
    for organization in (ACME, GLOBEX):
        own = await owner.fetchval("SELECT count(*) FROM campaigns WHERE organization_id = $1", organization)
        for sql, given in SHAPES:
            args = (organization,) if given is None else given
            reader = store.reader(organization)
            try:
                first = _rows(await reader.fetch(sql, *args))
                again = _rows(await reader.fetch(sql, *args))
            finally:
                await reader.close()
            alone_reader = store.reader(organization)
            try:
                alone = _rows(await alone_reader.fetch_alone(sql, *args))
            finally:
                await alone_reader.close()
            assert first == again == alone, sql
            assert first and first != [(0,)], sql
        reader = store.reader(organization)
        try:
            assert await reader.fetchval("SELECT app_organization_id()") == organization
            assert await reader.fetchval("SELECT count(*) FROM campaigns") == own
            assert (
                await reader.fetchval("SELECT count(*) FROM campaigns WHERE organization_id <> $1", organization) == 0
            )
        finally:
            await reader.close()


async def test_the_entry_is_the_outer_side_of_the_plan(store: PostgresStore) -> None:
    """The plan PostgreSQL makes of an entering statement: the entry, then the statement as a lateral subquery
    (a nested loop's inner side, run for the entry's row); nothing runs in parallel workers."""
    for sql, given in SHAPES:
        args = (ACME,) if given is None else given
        wrapped = entering(sql, len(args))
        assert wrapped is not None
        reader = store.reader(ACME)
        try:
            plan = await reader.fetchval(f"EXPLAIN (FORMAT JSON, VERBOSE) {wrapped}", *args, "not a claim")
        finally:
            await reader.close()
        plan = json.loads(plan) if isinstance(plan, str) else plan
        top = plan[0]["Plan"]
        assert top["Node Type"] == "Nested Loop", (sql, top)
        outer, inner = top["Plans"]
        assert outer["Parent Relationship"] == "Outer" and inner["Parent Relationship"] == "Inner"
        assert "fence_enter_checked" in json.dumps(outer.get("Output")), (sql, outer)
        assert "Gather" not in json.dumps(plan), sql
    assert entering("SHOW statement_timeout", 0) is None
    assert entering("select 1;", 0) == entering("select 1", 0)


async def test_a_changed_key_is_read_again_on_the_first_statement(
    seeded: Stores, store: PostgresStore, owner: asyncpg.Connection
) -> None:
    """A claim the first statement enters with and PostgreSQL refuses is never an empty answer: the key is read
    again and the statement answers; with no key at all, the store is unavailable."""
    original = await owner.fetchrow("SELECT key, inner_pad, outer_pad FROM fence_keys")
    assert original is not None
    try:
        for alone in (False, True):
            reader = store.reader(ACME)
            assert await reader.fetchval("SELECT count(*) FROM campaigns") == 60
            await reader.close()
            cached = store.keys.cached
            secret = os.urandom(32)
            await owner.execute(
                "UPDATE fence_keys SET key = $1, inner_pad = $2, outer_pad = $3", secret, *fence_pads(secret)
            )
            reader = store.reader(ACME)
            try:
                if alone:
                    rows = await reader.fetch_alone("SELECT count(*) FROM campaigns")
                    assert rows[0][0] == 60
                else:
                    # Two statements at once: the second waits behind the refused first and retries with it.
                    first, second = await _both(reader)
                    assert first == second == 60
            finally:
                await reader.close()
            assert store.keys.cached is not cached and store.keys.cached == FenceKey(secret)
        await owner.execute("UPDATE fence_keys SET inner_pad = $1", b"\x00" * 64)  # verifies nothing any more
        for alone in (False, True):
            reader = store.reader(ACME)
            with pytest.raises(StoreUnavailable):
                await (reader.fetch_alone if alone else reader.fetch)("SELECT count(*) FROM campaigns")
            await reader.close()
        store.keys = FenceKeys(store.keys.load)
    finally:
        await owner.execute("DELETE FROM fence_keys")
        await owner.execute("INSERT INTO fence_keys (id, key, inner_pad, outer_pad) VALUES (1, $1, $2, $3)", *original)


async def _both(reader: Any) -> tuple[int, int]:
    first, second = await asyncio.gather(
        reader.fetchval("SELECT count(*) FROM campaigns"), reader.fetchval("SELECT count(*) FROM campaigns")
    )
    return int(first), int(second)
