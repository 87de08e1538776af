"""Partner ingestion: sync jobs and bulk daily metrics over real HTTP.

Everything here changes organization `globex` only, and writes metrics 200 to
400 days back, clear of the seeded last 90 days other tests read. Each test
uses its own days, so tests do not see each other's rows.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from pymongo import AsyncMongoClient

from gateway.data.ids import to_global_id
from gateway.ops.seed import oid, uid
from resolvers.schema import schema
from tests.conftest import Stores, gql
from tests.support.issuer import TestIssuer

ORG = "globex"
ORG_ID = uid("org", ORG)
ORG_KEY = str(oid("org", ORG))

START = """mutation($input: StartSyncJobInput!) { startSyncJob(input: $input) {
  syncJob { id platform status recordsSynced error startedAt finishedAt }
  actionLog { action actorKind actorId targetType targetId payload result }
  userErrors { code message field } } }"""
INGEST = """mutation($input: IngestDailyMetricsInput!) { ingestDailyMetrics(input: $input) {
  syncJob { id status recordsSynced } rowsUpserted
  actionLog { action actorKind targetType targetId payload result }
  userErrors { code message field } } }"""
FINISH = """mutation($input: FinishSyncJobInput!) { finishSyncJob(input: $input) {
  syncJob { id status recordsSynced error finishedAt }
  actionLog { action targetType payload result }
  userErrors { code message field } } }"""


def partner(issuer: TestIssuer, scope: str = "metrics:write", name: str = "partner-globex") -> str:
    return issuer.token(ORG, "owner", sub=name, azp=name, scope=scope)


def days_ago(n: int) -> dt.date:
    return dt.datetime.now(dt.UTC).date() - dt.timedelta(days=n)


@asynccontextmanager
async def database(stores: Stores) -> AsyncIterator[asyncpg.Connection[asyncpg.Record]]:
    conn = await asyncpg.connect(stores.database_url)
    try:
        yield conn
    finally:
        await conn.close()


async def creatives(stores: Stores, platform: str = "meta", org: str = ORG) -> list[dict[str, Any]]:
    """Creatives of one platform, with global ids of the creative and its campaign."""
    async with database(stores) as conn:
        rows = await conn.fetch(
            "SELECT cr.id, cr.campaign_id FROM creatives cr "
            "JOIN campaigns ca ON ca.id = cr.campaign_id JOIN channels ch ON ch.id = ca.channel_id "
            "WHERE cr.organization_id = $1 AND ch.platform = $2 ORDER BY cr.id",
            uid("org", org),
            platform,
        )
    return [
        {
            "raw": r["id"],
            "id": to_global_id("Creative", r["id"]),
            "campaign": to_global_id("Campaign", r["campaign_id"]),
        }
        for r in rows
    ]


async def org_state(stores: Stores) -> dict[str, Any]:
    """Everything an ingestion call may change in the organization."""
    async with database(stores) as conn:
        metrics = await conn.fetchrow(
            "SELECT count(*) AS n, sum(impressions) AS i, sum(clicks) AS c, sum(spend) AS s, "
            "sum(conversions) AS v, sum(revenue) AS r FROM daily_metrics WHERE organization_id = $1",
            ORG_ID,
        )
        jobs = await conn.fetch(
            "SELECT id, status, records_synced, error, finished_at FROM sync_jobs WHERE organization_id = $1 ORDER BY id",
            ORG_ID,
        )
        logs = await conn.fetchval("SELECT count(*) FROM action_logs WHERE organization_id = $1", ORG_ID)
        events = await conn.fetchval("SELECT count(*) FROM outbox WHERE organization_key = $1", ORG_KEY)
    return {"metrics": dict(metrics or {}), "jobs": [dict(j) for j in jobs], "logs": logs, "events": events}


async def metric_count(stores: Stores, start: dt.date, end: dt.date) -> int:
    async with database(stores) as conn:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM daily_metrics WHERE organization_id = $1 AND date BETWEEN $2 AND $3",
                ORG_ID,
                start,
                end,
            )
        )


async def delivered_audit(stores: Stores, actor_id: str) -> list[dict[str, Any]]:
    """The audit events of one actor once the outbox delivered them to MongoDB, oldest first."""
    async with database(stores) as conn:
        for _ in range(100):
            rows = await conn.fetch(
                "SELECT event_id, delivered_at FROM outbox WHERE document->'actor'->>'id' = $1 ORDER BY id", actor_id
            )
            if all(r["delivered_at"] is not None for r in rows):
                break
            await asyncio.sleep(0.1)
    event_ids = [str(r["event_id"]) for r in rows]
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stores.mongo_url)
    try:
        found = await mongo[stores.mongo_db].audit_logs.find({"event_id": {"$in": event_ids}}).to_list(None)
    finally:
        await mongo.close()
    order = {event_id: i for i, event_id in enumerate(event_ids)}
    return sorted(found, key=lambda d: order[d["event_id"]])


def row(creative: dict[str, Any], date: dt.date, **values: Any) -> dict[str, Any]:
    base = {
        "creativeId": creative["id"],
        "date": date.isoformat(),
        "impressions": 1000,
        "clicks": 50,
        "spend": "25.50",
        "conversions": 5,
        "revenue": "120.00",
    }
    return {**base, **values}


def grid(items: list[dict[str, Any]], first_day_ago: int, days: int, **values: Any) -> list[dict[str, Any]]:
    """One row per creative and day: `days` days ending `first_day_ago` days back."""
    return [row(c, days_ago(first_day_ago + d), **values) for d in range(days) for c in items]


async def start(client: httpx.AsyncClient, token: str, platform: str = "META", **extra: Any) -> dict[str, Any]:
    return await gql(client, START, {"input": {"platform": platform, **extra}}, token=token)


async def start_job(client: httpx.AsyncClient, token: str, platform: str = "META") -> str:
    body = await start(client, token, platform)
    assert body["data"]["startSyncJob"]["userErrors"] == [], body
    job_id: str = body["data"]["startSyncJob"]["syncJob"]["id"]
    return job_id


async def ingest(client: httpx.AsyncClient, token: str, rows: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return await gql(client, INGEST, {"input": {"rows": rows, **extra}}, token=token)


async def finish(client: httpx.AsyncClient, token: str, job_id: str, status: str, **extra: Any) -> dict[str, Any]:
    return await gql(client, FINISH, {"input": {"syncJobId": job_id, "status": status, **extra}}, token=token)


# --- the happy path ------------------------------------------------------------------------


async def test_round_trip_start_ingest_finish_and_read_back(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    token = partner(issuer, name="partner-globex-roundtrip")
    before = await org_state(seeded)
    a, b = (await creatives(seeded))[:2]
    day1, day2 = days_ago(201), days_ago(200)

    started = (await start(client, token))["data"]["startSyncJob"]
    job = started["syncJob"]
    assert (job["platform"], job["status"], job["recordsSynced"], job["finishedAt"]) == ("META", "RUNNING", 0, None)
    assert job["startedAt"] is not None
    assert started["actionLog"]["action"] == "START_SYNC_JOB" and started["actionLog"]["actorKind"] == "PARTNER"
    assert started["actionLog"]["actorId"] == "partner-globex-roundtrip"

    rows = [
        row(a, day1, campaignId=a["campaign"]),
        row(a, day2, impressions=2000, clicks=100, spend="40.00", conversions=150, revenue="900.10"),
        row(b, day1, impressions=0, clicks=0, spend="0", conversions=0, revenue="0.00"),
    ]
    result = (await ingest(client, token, rows, syncJobId=job["id"]))["data"]["ingestDailyMetrics"]
    assert result["userErrors"] == [] and result["rowsUpserted"] == 3
    assert result["syncJob"] == {"id": job["id"], "status": "RUNNING", "recordsSynced": 3}
    log = result["actionLog"]
    assert (log["action"], log["targetType"]) == ("INGEST_DAILY_METRICS", "SYNC_JOB")
    assert log["payload"]["rows"] == 3 and log["payload"]["creatives"] == 2
    assert (log["payload"]["from"], log["payload"]["to"]) == (day1.isoformat(), day2.isoformat())
    assert log["result"] == {"rowsUpserted": 3, "inserted": 3, "updated": 0, "recordsSynced": 3}

    # A later batch for the same creative and day replaces the counts.
    again = [row(a, day1, impressions=1500, clicks=60, spend="30.00", conversions=6, revenue="130.00")]
    result = (await ingest(client, token, again, syncJobId=job["id"]))["data"]["ingestDailyMetrics"]
    assert result["actionLog"]["result"]["updated"] == 1 and result["syncJob"]["recordsSynced"] == 4

    finished = (await finish(client, token, job["id"], "SUCCEEDED"))["data"]["finishSyncJob"]
    assert finished["userErrors"] == []
    assert finished["syncJob"]["status"] == "SUCCEEDED" and finished["syncJob"]["recordsSynced"] == 4
    assert finished["syncJob"]["error"] is None and finished["syncJob"]["finishedAt"] is not None
    assert finished["actionLog"]["result"] == {"status": "succeeded", "recordsSynced": 4}

    read = await gql(
        client,
        """query($id: ID!, $job: ID!, $from: Date!, $to: Date!) {
          creative: node(id: $id) { ... on Creative {
            dailyMetrics(from: $from, to: $to) { date performance { impressions clicks spend { amount } conversions revenue { amount } } }
            performance(from: $from, to: $to) { impressions clicks spend { amount } conversions revenue { amount } ctr roas } } }
          job: node(id: $job) { ... on SyncJob { status recordsSynced } } }""",
        {"id": a["id"], "job": job["id"], "from": day1.isoformat(), "to": day2.isoformat()},
        token=issuer.token(ORG, "analyst"),
    )
    creative = read["data"]["creative"]
    assert creative["dailyMetrics"] == [
        {
            "date": day1.isoformat(),
            "performance": {
                "impressions": 1500,
                "clicks": 60,
                "spend": {"amount": "30.00"},
                "conversions": 6,
                "revenue": {"amount": "130.00"},
            },
        },
        {
            "date": day2.isoformat(),
            "performance": {
                "impressions": 2000,
                "clicks": 100,
                "spend": {"amount": "40.00"},
                "conversions": 150,
                "revenue": {"amount": "900.10"},
            },
        },
    ]
    perf = creative["performance"]
    assert (perf["impressions"], perf["clicks"], perf["spend"], perf["conversions"], perf["revenue"]) == (
        3500,
        160,
        {"amount": "70.00"},
        156,
        {"amount": "1030.10"},
    )
    assert perf["ctr"] == pytest.approx(160 / 3500, abs=1e-6) and perf["roas"] == pytest.approx(1030.10 / 70, abs=1e-4)
    assert read["data"]["job"] == {"status": "SUCCEEDED", "recordsSynced": 4}

    after = await org_state(seeded)
    assert after["metrics"]["n"] == before["metrics"]["n"] + 3
    assert after["logs"] == before["logs"] + 4 and after["events"] == before["events"] + 4
    audit = await delivered_audit(seeded, "partner-globex-roundtrip")
    assert [(a["action"], a["actor"]["kind"]) for a in audit] == [
        ("startSyncJob", "partner"),
        ("ingestDailyMetrics", "partner"),
        ("ingestDailyMetrics", "partner"),
        ("finishSyncJob", "partner"),
    ]
    assert audit[1]["details"]["result"]["rowsUpserted"] == 3


async def test_failed_job_keeps_its_error_and_rows_without_a_job(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    token = partner(issuer)
    job_id = await start_job(client, token, "GOOGLE")
    result = (await finish(client, token, job_id, "FAILED", error="  token expired  "))["data"]["finishSyncJob"]
    assert result["userErrors"] == []
    assert (result["syncJob"]["status"], result["syncJob"]["error"]) == ("FAILED", "token expired")
    # Without a sync job the batch is logged against the organization.
    creative = (await creatives(seeded, "google"))[0]
    result = (await ingest(client, token, [row(creative, days_ago(210))]))["data"]["ingestDailyMetrics"]
    assert result["userErrors"] == [] and result["syncJob"] is None and result["rowsUpserted"] == 1
    assert result["actionLog"]["targetType"] == "ORGANIZATION" and result["actionLog"]["targetId"] == str(ORG_ID)


async def test_admin_and_owner_users_may_ingest(client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores) -> None:
    for role in ("admin", "owner"):
        token = issuer.token(ORG, role)
        job_id = await start_job(client, token, "TIKTOK")
        body = await finish(client, token, job_id, "SUCCEEDED")
        assert body["data"]["finishSyncJob"]["userErrors"] == [], body


async def test_ten_thousand_rows_in_one_call_then_updated_not_duplicated(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    token = partner(issuer)
    meta = await creatives(seeded)
    assert len(meta) >= 200
    rows = grid(meta[:200], 300, 50)  # 200 creatives x 50 days, 300 to 349 days back
    assert len(rows) == 10_000
    window = (days_ago(349), days_ago(300))
    assert await metric_count(seeded, *window) == 0
    job_id = await start_job(client, token)

    first = (await ingest(client, token, rows, syncJobId=job_id))["data"]["ingestDailyMetrics"]
    assert first["userErrors"] == [] and first["rowsUpserted"] == 10_000
    assert first["actionLog"]["result"] == {
        "rowsUpserted": 10_000,
        "inserted": 10_000,
        "updated": 0,
        "recordsSynced": 10_000,
    }
    assert await metric_count(seeded, *window) == 10_000

    state = await org_state(seeded)
    second = (await ingest(client, token, rows, syncJobId=job_id))["data"]["ingestDailyMetrics"]
    assert second["userErrors"] == [] and second["rowsUpserted"] == 10_000
    assert second["actionLog"]["result"]["updated"] == 10_000 and second["syncJob"]["recordsSynced"] == 20_000
    assert await metric_count(seeded, *window) == 10_000
    after = await org_state(seeded)
    assert after["metrics"] == state["metrics"]  # same rows, same values: nothing added, nothing doubled
    assert after["logs"] == state["logs"] + 1


async def test_bad_last_row_of_ten_thousand_rejects_everything(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    token = partner(issuer)
    meta = await creatives(seeded)
    rows = grid(meta[:200], 350, 50)  # 350 to 399 days back
    rows[9_999]["clicks"] = rows[9_999]["impressions"] + 1
    job_id = await start_job(client, token)
    before = await org_state(seeded)
    result = (await ingest(client, token, rows, syncJobId=job_id))["data"]["ingestDailyMetrics"]
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [
        ("CLICKS_EXCEED_IMPRESSIONS", "rows[9999].clicks")
    ]
    assert result["rowsUpserted"] == 0 and result["syncJob"] is None and result["actionLog"] is None
    assert await org_state(seeded) == before
    assert await metric_count(seeded, days_ago(399), days_ago(350)) == 0


# --- rejections ----------------------------------------------------------------------------

ROW_REJECTIONS: list[tuple[str, dict[str, Any], str, str]] = [
    ("bad-creative-id", {"creativeId": "bogus"}, "INVALID_ID", "creativeId"),
    ("campaign-as-creative", {"creativeId": "campaign"}, "INVALID_ID", "creativeId"),
    ("foreign-creative", {"creativeId": "foreign"}, "NOT_FOUND", "creativeId"),
    ("unknown-creative", {"creativeId": "unknown"}, "NOT_FOUND", "creativeId"),
    ("other-campaign", {"campaignId": "other"}, "CAMPAIGN_MISMATCH", "campaignId"),
    ("foreign-campaign", {"campaignId": "foreign"}, "NOT_FOUND", "campaignId"),
    ("unknown-campaign", {"campaignId": "unknown-campaign"}, "NOT_FOUND", "campaignId"),
    ("bad-campaign-id", {"campaignId": "creative"}, "INVALID_ID", "campaignId"),
    ("future-date", {"date": "future"}, "FUTURE_DATE", "date"),
    ("year-1", {"date": "0001-01-01"}, "DATE_TOO_EARLY", "date"),
    ("before-2000", {"date": "1999-12-31"}, "DATE_TOO_EARLY", "date"),
    ("duplicate", {"date": "duplicate"}, "DUPLICATE_ROW", "date"),
    ("negative-impressions", {"impressions": -1, "clicks": 0}, "NEGATIVE_COUNT", "impressions"),
    ("negative-clicks", {"clicks": -1}, "NEGATIVE_COUNT", "clicks"),
    ("negative-conversions", {"conversions": -3}, "NEGATIVE_COUNT", "conversions"),
    ("clicks-over-impressions", {"impressions": 10, "clicks": 11}, "CLICKS_EXCEED_IMPRESSIONS", "clicks"),
    ("negative-spend", {"spend": "-1.00"}, "INVALID_AMOUNT", "spend"),
    ("negative-revenue", {"revenue": "-0.01"}, "INVALID_AMOUNT", "revenue"),
    ("platform-mismatch", {"creativeId": "google"}, "PLATFORM_MISMATCH", "creativeId"),
]


async def _resolve_change(stores: Stores, change: dict[str, Any], mine: dict[str, Any]) -> dict[str, Any]:
    """Turn the symbolic values of a rejection case into real ids and dates."""
    ids = {
        "bogus": "bogus",
        "campaign": mine["campaign"],
        "creative": mine["id"],
        "foreign": None,
        "unknown": to_global_id("Creative", uuid.uuid4()),
        "unknown-campaign": to_global_id("Campaign", uuid.uuid4()),
    }
    resolved = dict(change)
    for key in ("creativeId", "campaignId"):
        value = change.get(key)
        if value == "foreign":
            other = (await creatives(stores, org="acme"))[0]
            resolved[key] = other["id"] if key == "creativeId" else other["campaign"]
        elif value == "other":
            resolved[key] = next(c["campaign"] for c in await creatives(stores) if c["campaign"] != mine["campaign"])
        elif value == "google":
            resolved[key] = (await creatives(stores, "google"))[0]["id"]
        elif value is not None:
            resolved[key] = ids[value]
    if change.get("date") == "future":
        resolved["date"] = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)).isoformat()
    if change.get("date") == "duplicate":
        resolved["date"] = days_ago(220).isoformat()  # the date of row 0, which has the same creative
    return resolved


@pytest.mark.parametrize(("case", "change", "code", "attribute"), ROW_REJECTIONS, ids=[c[0] for c in ROW_REJECTIONS])
async def test_a_bad_row_rejects_the_batch_and_changes_nothing(
    client: httpx.AsyncClient,
    issuer: TestIssuer,
    seeded: Stores,
    case: str,
    change: dict[str, Any],
    code: str,
    attribute: str,
) -> None:
    token = partner(issuer)
    meta = await creatives(seeded)
    mine, other = meta[0], meta[1]
    job_id = await start_job(client, token)
    rows = [
        row(mine, days_ago(220)),
        {**row(mine, days_ago(221)), **await _resolve_change(seeded, change, mine)},
        row(other, days_ago(220)),
    ]
    before = await org_state(seeded)
    result = (await ingest(client, token, rows, syncJobId=job_id))["data"]["ingestDailyMetrics"]
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [(code, f"rows[1].{attribute}")], result
    assert result["userErrors"][0]["message"]
    assert result["rowsUpserted"] == 0 and result["syncJob"] is None and result["actionLog"] is None
    assert await org_state(seeded) == before


MALFORMED = [
    {"spend": "1.005"},
    {"spend": "abc"},
    {"revenue": "NaN"},
    {"revenue": "1e400"},
    {"revenue": "1000000000000.00"},
    {"spend": 0.5},
]


@pytest.mark.parametrize("change", MALFORMED, ids=[repr(c) for c in MALFORMED])
async def test_a_malformed_amount_refuses_the_request(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores, change: dict[str, Any]
) -> None:
    c = (await creatives(seeded))[3]
    before = await org_state(seeded)
    body = await ingest(client, partner(issuer), [row(c, days_ago(240)), {**row(c, days_ago(241)), **change}])
    assert body.get("data") is None and [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], body
    assert "rows[1]" in body["errors"][0]["message"]
    assert await org_state(seeded) == before


async def test_every_bad_row_is_reported_in_order_and_today_is_allowed(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    token = partner(issuer)
    c = (await creatives(seeded))[2]
    today = dt.datetime.now(dt.UTC).date()
    rows = [
        row(c, today, conversions=500),  # today is the latest day allowed; conversions may exceed clicks
        row(c, days_ago(230), clicks=-1),
        row(c, days_ago(231)),
        row(c, days_ago(232), spend="-1.23"),
        row(c, days_ago(231)),
    ]
    before = await org_state(seeded)
    result = (await ingest(client, token, rows))["data"]["ingestDailyMetrics"]
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [
        ("NEGATIVE_COUNT", "rows[1].clicks"),
        ("INVALID_AMOUNT", "rows[3].spend"),
        ("DUPLICATE_ROW", "rows[4].date"),
    ]
    assert "rows[2]" in result["userErrors"][2]["message"]
    assert await org_state(seeded) == before


async def test_at_most_a_hundred_bad_rows_are_reported(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    c = (await creatives(seeded))[3]
    rows = [row(c, days_ago(240 + d), impressions=-1) for d in range(150)]
    result = (await ingest(client, partner(issuer), rows))["data"]["ingestDailyMetrics"]
    fields = [e["field"] for e in result["userErrors"]]
    assert fields == [f"rows[{i}].impressions" for i in range(100)]


BATCH_REJECTIONS = [
    ("no-rows", "NO_ROWS", "rows"),
    ("too-many-rows", "TOO_MANY_ROWS", "rows"),
    ("bad-job-id", "INVALID_ID", "syncJobId"),
    ("foreign-job", "NOT_FOUND", "syncJobId"),
    ("finished-job", "NOT_RUNNING", "syncJobId"),
]


@pytest.mark.parametrize(("case", "code", "field"), BATCH_REJECTIONS, ids=[c[0] for c in BATCH_REJECTIONS])
async def test_batch_rejections_change_nothing(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores, case: str, code: str, field: str
) -> None:
    token = partner(issuer)
    c = (await creatives(seeded))[4]
    rows = [row(c, days_ago(260))]
    job_id: str | None = await start_job(client, token)
    if case == "no-rows":
        rows = []
    if case == "too-many-rows":
        rows = grid((await creatives(seeded))[:41], 260, 244)  # 10,004 rows
    if case == "bad-job-id":
        job_id = to_global_id("Creative", c["raw"])
    if case == "foreign-job":
        job_id = to_global_id("SyncJob", uid("sync", "acme", 0))
    if case == "finished-job":
        job_id = to_global_id("SyncJob", uid("sync", ORG, 0))  # a seeded job, long finished
    before = await org_state(seeded)
    result = (await ingest(client, token, rows, syncJobId=job_id))["data"]["ingestDailyMetrics"]
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [(code, field)], result
    assert result["rowsUpserted"] == 0 and result["actionLog"] is None
    assert await org_state(seeded) == before


FINISH_REJECTIONS = [
    ("failed-without-error", "FAILED", None, "ERROR_REQUIRED", "error"),
    ("failed-blank-error", "FAILED", "   ", "ERROR_REQUIRED", "error"),
    ("succeeded-with-error", "SUCCEEDED", "oops", "ERROR_NOT_ALLOWED", "error"),
    ("error-too-long", "FAILED", "x" * 2001, "ERROR_TOO_LONG", "error"),
    ("already-finished", "SUCCEEDED", None, "NOT_RUNNING", "syncJobId"),
    ("foreign-job", "SUCCEEDED", None, "NOT_FOUND", "syncJobId"),
    ("bad-id", "SUCCEEDED", None, "INVALID_ID", "syncJobId"),
]


@pytest.mark.parametrize(
    ("case", "status", "error", "code", "field"), FINISH_REJECTIONS, ids=[c[0] for c in FINISH_REJECTIONS]
)
async def test_finish_rejections_change_nothing(
    client: httpx.AsyncClient,
    issuer: TestIssuer,
    seeded: Stores,
    case: str,
    status: str,
    error: str | None,
    code: str,
    field: str,
) -> None:
    token = partner(issuer)
    job_id = await start_job(client, token)
    if case == "already-finished":
        assert (await finish(client, token, job_id, "SUCCEEDED"))["data"]["finishSyncJob"]["userErrors"] == []
    if case == "foreign-job":
        job_id = to_global_id("SyncJob", uid("sync", "acme", 0))
    if case == "bad-id":
        job_id = "bogus"
    before = await org_state(seeded)
    result = (await finish(client, token, job_id, status, error=error))["data"]["finishSyncJob"]
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [(code, field)], result
    assert result["syncJob"] is None and result["actionLog"] is None
    assert await org_state(seeded) == before


# --- authorization -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["viewer", "analyst", "marketer", "actions-partner"])
async def test_only_metrics_writers_may_ingest(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores, who: str
) -> None:
    token = partner(issuer, scope="actions:write") if who == "actions-partner" else issuer.token(ORG, who)
    c = (await creatives(seeded))[5]
    job_id = await start_job(client, partner(issuer))
    before = await org_state(seeded)
    calls = [
        await start(client, token),
        await ingest(client, token, [row(c, days_ago(270))], syncJobId=job_id),
        await finish(client, token, job_id, "SUCCEEDED"),
    ]
    for body in calls:
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    assert await org_state(seeded) == before


# --- idempotency and concurrency -----------------------------------------------------------


async def test_idempotent_replay_and_conflict(client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores) -> None:
    token = partner(issuer)
    key = f"ingest-{uuid.uuid4()}"
    first_start = await start(client, token, idempotencyKey=f"{key}-start")
    assert await start(client, token, idempotencyKey=f"{key}-start") == first_start
    job_id = first_start["data"]["startSyncJob"]["syncJob"]["id"]

    meta = await creatives(seeded)
    rows = [row(meta[6], days_ago(280)), row(meta[7], days_ago(280))]
    first = await ingest(client, token, rows, syncJobId=job_id, idempotencyKey=key)
    assert first["data"]["ingestDailyMetrics"]["syncJob"]["recordsSynced"] == 2
    state = await org_state(seeded)
    assert await ingest(client, token, rows, syncJobId=job_id, idempotencyKey=key) == first
    assert await org_state(seeded) == state

    changed = [row(meta[6], days_ago(280), impressions=5000), rows[1]]
    conflict = await ingest(client, token, changed, syncJobId=job_id, idempotencyKey=key)
    assert conflict["data"] is None and conflict["errors"][0]["extensions"]["code"] == "CONFLICT"
    other_operation = await finish(client, token, job_id, "SUCCEEDED", idempotencyKey=key)
    assert other_operation["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert await org_state(seeded) == state

    finished = await finish(client, token, job_id, "SUCCEEDED", idempotencyKey=f"{key}-finish")
    assert await finish(client, token, job_id, "SUCCEEDED", idempotencyKey=f"{key}-finish") == finished
    assert finished["data"]["finishSyncJob"]["syncJob"]["recordsSynced"] == 2


async def test_concurrent_batches_of_one_job_all_count(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    token = partner(issuer)
    meta = await creatives(seeded)
    job_id = await start_job(client, token)
    batches = [grid(meta[i * 10 : i * 10 + 10], 290, 5) for i in range(8)]  # 8 disjoint batches of 50 rows
    results = await asyncio.gather(*(ingest(client, token, b, syncJobId=job_id) for b in batches))
    assert all(r["data"]["ingestDailyMetrics"]["userErrors"] == [] for r in results), results
    finished = (await finish(client, token, job_id, "SUCCEEDED"))["data"]["finishSyncJob"]
    assert finished["syncJob"]["recordsSynced"] == 400
    assert await metric_count(seeded, days_ago(294), days_ago(290)) == 400


async def test_overlapping_batches_in_opposite_orders_never_deadlock(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    token = partner(issuer)
    rows = grid((await creatives(seeded))[100:140], 295, 5)  # the same 200 rows in every batch
    batches = [rows if i % 2 else rows[::-1] for i in range(8)]
    results = await asyncio.gather(*(ingest(client, token, b) for b in batches))
    assert all("errors" not in r for r in results), [r["errors"] for r in results if "errors" in r][:2]
    assert all(r["data"]["ingestDailyMetrics"]["rowsUpserted"] == 200 for r in results)
    assert await metric_count(seeded, days_ago(299), days_ago(295)) == 200


# --- schema --------------------------------------------------------------------------------

INGESTION_TYPES = [
    "StartSyncJobInput",
    "StartSyncJobPayload",
    "DailyMetricInput",
    "IngestDailyMetricsInput",
    "IngestDailyMetricsPayload",
    "FinishSyncJobInput",
    "FinishSyncJobPayload",
    "SyncJobOutcome",
]
INGESTION_MUTATIONS = {"startSyncJob", "ingestDailyMetrics", "finishSyncJob"}


def test_every_ingestion_type_field_and_argument_is_described() -> None:
    types = {t["name"]: t for t in schema.introspect()["__schema"]["types"]}
    mutation = dict(types["Mutation"])
    mutation["fields"] = [f for f in mutation["fields"] if f["name"] in INGESTION_MUTATIONS]
    assert len(mutation["fields"]) == len(INGESTION_MUTATIONS)
    missing = []
    for type_ in [mutation, *(types[name] for name in INGESTION_TYPES)]:
        name = type_["name"]
        members = (type_.get("fields") or []) + (type_.get("inputFields") or []) + (type_.get("enumValues") or [])
        arguments = [arg for field in type_.get("fields") or [] for arg in field["args"]]
        missing += [name] if not type_["description"] else []
        missing += [f"{name}.{m['name']}" for m in members + arguments if not m["description"]]
    assert missing == []


async def test_the_earliest_date_is_2000_01_01(client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores) -> None:
    c = (await creatives(seeded))[5]
    first = dt.date(2000, 1, 1)
    result = (await ingest(client, partner(issuer), [row(c, first)]))["data"]["ingestDailyMetrics"]
    assert result["userErrors"] == [] and result["rowsUpserted"] == 1, result
    assert await metric_count(seeded, first, first) >= 1
    day_before = (await ingest(client, partner(issuer), [row(c, first - dt.timedelta(days=1))]))["data"]
    assert [(e["code"], e["field"]) for e in day_before["ingestDailyMetrics"]["userErrors"]] == [
        ("DATE_TOO_EARLY", "rows[0].date")
    ]
