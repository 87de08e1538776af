"""Performance totals keep a good plan after PostgreSQL switches their prepared statement to a generic plan.

asyncpg prepares each statement once per connection; after five runs
PostgreSQL may plan it once for all parameter values (a generic plan), which
takes an array parameter to hold ten ids. On a database of many organizations,
one much larger than the rest, the totals of a batch of creatives used to get
a nested loop that summed the whole batch again for each creative. These tests
build such a database of their own (ten organizations, one of 1,080 creatives),
run the totals statement as a request does (the store code, over the gateway's
restricted login, in a tenant transaction, on one pooled connection) more than
five times with a few ids and then once with a thousand, and read that
prepared statement's plan for the large batch with EXPLAIN ANALYZE: no metric
row may be read or summed more than once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from gateway.data.brain import metrics
from gateway.ops.migrations import migrate_postgres, provision_logins
from gateway.ops.seed_brain import seed_brain
from gateway.ops.seed_spec import DEMO_SHAPE, LARGE_SHAPE, OrgSpec, Shape, org_specs, uid
from gateway.stores.postgres import PostgresStore, TenantReader
from tests.conftest import Stores
from tests.test_audit_outbox import _with_database as with_database

DAYS = 10
# The large organization: 54 campaigns and 1,080 creatives; nine small ones of 30 creatives.
LARGE = OrgSpec("large", "Large", "enterprise", "USD", Shape(9, 20, DAYS))
SMALL = [OrgSpec(f"small-{i}", f"Small {i}", "growth", "USD", Shape(1, 5, DAYS)) for i in range(9)]
TABLES = {metrics.CAMPAIGN: "campaigns", metrics.CREATIVE: "creatives"}


@dataclass
class Skewed:
    owner: asyncpg.Connection[asyncpg.Record]
    app_url: str
    system_url: str
    start: dt.date
    end: dt.date


@pytest.fixture(scope="module")
async def skewed(seeded: Stores) -> AsyncIterator[Skewed]:
    name = f"omnify_plans_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(seeded.database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    owner = await asyncpg.connect(with_database(seeded.database_url, name))
    try:
        await migrate_postgres(owner)
        # The cluster-wide logins, granted in this database too.
        await provision_logins(owner, seeded.app_url, seeded.system_url)
        today = dt.datetime.now(dt.UTC).date()
        for spec in [LARGE, *SMALL]:
            await seed_brain(owner, spec, today)
        await owner.execute("ANALYZE")
        yield Skewed(
            owner,
            with_database(seeded.app_url, name),
            with_database(seeded.system_url, name),
            today - dt.timedelta(days=DAYS - 1),
            today,
        )
    finally:
        await owner.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def metric_rows_read(plan: dict[str, Any]) -> int:
    """Rows the plan's scans of daily_metrics read, over all their loops (kept or filtered out).

    A bitmap index scan only collects row addresses: its heap scan reads the rows.
    """
    read = 0
    for node in _nodes(plan):
        if node.get("Relation Name") == "daily_metrics" or (
            node["Node Type"] != "Bitmap Index Scan" and node.get("Index Name", "").startswith("daily_metrics")
        ):
            per_loop = node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
            read += (per_loop + node.get("Rows Removed by Index Recheck", 0)) * node["Actual Loops"]
    return read


def metric_rows_summed(plan: dict[str, Any]) -> int:
    """Rows the plan's aggregates took in, over all their loops."""
    summed = 0
    for node in _nodes(plan):
        if node["Node Type"] == "Aggregate":
            # Its input, not the InitPlans hung below it (the fence's tenant, asked once per statement).
            inputs = [c for c in node.get("Plans", []) if c.get("Parent Relationship") not in ("InitPlan", "SubPlan")]
            summed += sum(child["Actual Rows"] * child["Actual Loops"] for child in inputs)
    return summed


async def _entered(reader: TenantReader) -> None:
    """A read's first statement carries the tenancy's entry (a text of its own): the totals come after one."""
    await reader.fetchval("SELECT 1")


def _array(ids: list[UUID]) -> str:
    return "'{" + ",".join(str(i) for i in ids) + "}'::uuid[]"


@pytest.mark.parametrize("column", [metrics.CAMPAIGN, metrics.CREATIVE])
async def test_totals_of_a_large_batch_after_small_ones_sum_each_metric_row_once(skewed: Skewed, column: str) -> None:
    org = uid("org", LARGE.slug)
    table = TABLES[column]
    ids = [r["id"] for r in await skewed.owner.fetch(f"SELECT id FROM {table} WHERE organization_id = $1", org)]
    batch = ids[:1000]
    # One connection: every run below reuses the statement asyncpg prepared on it.
    store = PostgresStore(skewed.app_url, max_size=1, timeout_s=10.0, system_url=skewed.system_url)
    await store.open()
    try:
        for i in range(7):
            reader = store.reader(org)
            try:
                await _entered(reader)
                await metrics.object_totals(reader, column, ids[i * 3 : i * 3 + 3], skewed.start, skewed.end)
            finally:
                await reader.close()
        reader = store.reader(org)
        try:
            await _entered(reader)
            totals = await metrics.object_totals(reader, column, batch, skewed.start, skewed.end)
            prepared = await reader.fetch(
                "SELECT name, generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1",
                metrics.OBJECT_TOTALS[column],
            )
            assert len(prepared) == 1, prepared
            # The same prepared statement, the same large batch: the plan that run used.
            name, dates = prepared[0]["name"], f"'{skewed.start}'::date, '{skewed.end}'::date"
            explained = await reader.fetchval(
                f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE {name}('{org}'::uuid, {_array(batch)}, {dates})"
            )
        finally:
            await reader.close()
    finally:
        await store.close()

    # Each metric row read and summed at most once: the large organization's rows in the range
    # bound what a sound plan handles (the plan this replaced summed the batch once per creative).
    plan = explained[0]["Plan"]
    in_range = await skewed.owner.fetchval(
        "SELECT count(*) FROM daily_metrics WHERE organization_id = $1 AND date BETWEEN $2 AND $3",
        org,
        skewed.start,
        skewed.end,
    )
    assert 0 < metric_rows_read(plan) <= in_range, (prepared[0], plan)
    assert 0 < metric_rows_summed(plan) <= in_range, (prepared[0], plan)
    # And the answer is whole: every object of the batch, with its own sums.
    clicks = await skewed.owner.fetch(
        f"SELECT {column} AS key, sum(clicks) AS clicks FROM daily_metrics "
        f"WHERE {column} = ANY($1::uuid[]) AND date BETWEEN $2 AND $3 GROUP BY {column}",
        batch,
        skewed.start,
        skewed.end,
    )
    assert {key: row.clicks for key, row in totals.items()} == {r["key"]: r["clicks"] for r in clicks}


def test_a_large_seed_keeps_the_demo_organizations_and_adds_one_much_larger() -> None:
    demo, large = org_specs("demo", None), org_specs("large", None)
    assert [s.slug for s in demo] == ["acme", "globex", "initech"] == [s.slug for s in large[:3]]
    assert {s.shape for s in demo + large[:3]} == {DEMO_SHAPE}
    assert len(large) == 10 and large[3].shape == LARGE_SHAPE
    assert LARGE_SHAPE.metric_rows() == 5 * DEMO_SHAPE.metric_rows()
    assert sum(s.shape.metric_rows() for s in large) == 1_503_000
    assert len({s.shape for s in large[4:]}) == 6  # the others vary
