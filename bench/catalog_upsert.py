"""A catalog upsert of 1,000 creatives: the gateway's `syncCatalog` beside raw asyncpg `INSERT ... ON CONFLICT`.

Run by bench/compare.py (`--catalog ROUNDS`, 0 to skip). Both sides upsert
one channel, 20 campaigns and 1,000 creatives of organization `globex` (the
read documents measure `acme`), each under its own platform ids, in one
transaction per call:

- gateway: one `syncCatalog` over HTTP with a partner token (`catalog:write`): token check, tenant
  transaction, advisory lock, the rows read and compared, the changed ones upserted, the action log,
  the audit event and the subscription notice, the payload with 1,021 per-row results;
- raw: asyncpg as the owner, three `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO UPDATE`
  statements, nothing read back but ids.

Each round measures a call that changes every creative (new names) and one that changes nothing
(the same batch again), the two sides in turn, the order alternating from round to round. The rows
are deleted at the end, so reruns start alike.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from decimal import Decimal
from typing import Any

import asyncpg
import httpx

from gateway.ops.seed_spec import uid

ORG = uid("org", "globex")
CREATIVES = 1000
CAMPAIGNS = 20
SYNC = "mutation($i: SyncCatalogInput!) { syncCatalog(input: $i) { creatives { result } userErrors { field } } }"

RAW_CHANNEL = """INSERT INTO channels (organization_id, platform, external_account_id, name) VALUES ($1, 'meta', $2, $2)
ON CONFLICT (organization_id, platform, external_account_id) WHERE external_account_id IS NOT NULL
DO UPDATE SET name = EXCLUDED.name RETURNING id"""
RAW_CAMPAIGNS = """INSERT INTO campaigns (organization_id, channel_id, external_id, name, daily_budget, currency)
SELECT $1, $2, * FROM unnest($3::text[], $4::text[], $5::numeric[], $6::text[])
ON CONFLICT (organization_id, platform, external_id) DO UPDATE SET name = EXCLUDED.name,
daily_budget = EXCLUDED.daily_budget, currency = EXCLUDED.currency, updated_at = now()
WHERE (campaigns.name, campaigns.daily_budget, campaigns.currency)
IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.daily_budget, EXCLUDED.currency)"""
RAW_CREATIVES = """INSERT INTO creatives (organization_id, campaign_id, external_id, name, format, headline)
SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[])
ON CONFLICT (organization_id, platform, external_id) DO UPDATE SET name = EXCLUDED.name,
format = EXCLUDED.format, headline = EXCLUDED.headline, updated_at = now()
WHERE (creatives.name, creatives.format, creatives.headline)
IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.format, EXCLUDED.headline)
RETURNING id"""


def batch(side: str, version: int) -> dict[str, Any]:
    account = f"bench-{side}-act"
    return {
        "channels": [{"platform": "META", "externalAccountId": account, "name": f"Bench {side}"}],
        "campaigns": [
            {
                "platform": "META",
                "externalId": f"bench-{side}-cmp-{n}",
                "channelExternalAccountId": account,
                "name": f"Bench campaign {n}",
                "dailyBudget": "50.00",
                "currency": "USD",
            }
            for n in range(CAMPAIGNS)
        ],
        "creatives": [
            {
                "platform": "META",
                "externalId": f"bench-{side}-crv-{n}",
                "campaignExternalId": f"bench-{side}-cmp-{n % CAMPAIGNS}",
                "name": f"Bench creative {n} v{version}",
                "format": "IMAGE",
                "headline": f"Headline {n}",
            }
            for n in range(CREATIVES)
        ],
    }


async def raw_upsert(conn: asyncpg.Connection[Any], data: dict[str, Any]) -> int:
    async with conn.transaction():
        channel = await conn.fetchval(RAW_CHANNEL, ORG, data["channels"][0]["externalAccountId"])
        campaigns = data["campaigns"]
        await conn.execute(
            RAW_CAMPAIGNS,
            ORG,
            channel,
            [c["externalId"] for c in campaigns],
            [c["name"] for c in campaigns],
            [Decimal(c["dailyBudget"]) for c in campaigns],
            [c["currency"] for c in campaigns],
        )
        ids = dict(
            await conn.fetch(
                "SELECT external_id, id FROM campaigns WHERE organization_id = $1 AND platform = 'meta' "
                "AND external_id = ANY($2::text[])",
                ORG,
                [c["externalId"] for c in campaigns],
            )
        )
        creatives = data["creatives"]
        written = await conn.fetch(
            RAW_CREATIVES,
            ORG,
            [ids[c["campaignExternalId"]] for c in creatives],
            [c["externalId"] for c in creatives],
            [c["name"] for c in creatives],
            ["image"] * len(creatives),
            [c["headline"] for c in creatives],
        )
        return len(written)


def gateway_upsert(http: httpx.Client, token: str, data: dict[str, Any]) -> int:
    body = http.post(
        "/graphql", json={"query": SYNC, "variables": {"i": data}}, headers={"Authorization": f"Bearer {token}"}
    )
    payload = body.json()["data"]["syncCatalog"]
    assert payload["userErrors"] == [], payload["userErrors"]
    return sum(1 for r in payload["creatives"] if r["result"] != "UNCHANGED")


async def _clean(conn: asyncpg.Connection[Any]) -> None:
    await conn.execute(
        "DELETE FROM channels WHERE organization_id = $1 AND external_account_id LIKE 'bench-%'", ORG
    )  # campaigns, creatives and the jobs' links go with their channel


def compare_catalog(port: int, token: str, owner_url: str, rounds: int) -> None:
    """Print medians and ratios of the two sides; nothing asserts."""
    loop = asyncio.new_event_loop()
    conn = loop.run_until_complete(asyncpg.connect(owner_url))
    times: dict[tuple[str, str], list[float]] = {}
    try:
        loop.run_until_complete(_clean(conn))
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
            sides = {
                "gateway": lambda data: gateway_upsert(http, token, data),
                "raw": lambda data: loop.run_until_complete(raw_upsert(conn, data)),
            }
            for side in sides:  # the first call creates the rows; not measured
                sides[side](batch(side, 0))
            for round_ in range(1, rounds + 1):
                order = list(sides) if round_ % 2 else list(sides)[::-1]
                for side in order:
                    for kind, expected in (("changed", CREATIVES), ("unchanged", 0)):
                        started = time.perf_counter()
                        written = sides[side](batch(side, round_))
                        times.setdefault((side, kind), []).append(time.perf_counter() - started)
                        assert written == expected, (side, kind, written)
    finally:
        loop.run_until_complete(_clean(conn))
        loop.run_until_complete(conn.close())
        loop.close()
    print(
        f"\ncatalog upsert of {CREATIVES:,} creatives (+{CAMPAIGNS} campaigns, 1 channel), {rounds} rounds, median ms:"
    )
    for kind in ("changed", "unchanged"):
        gateway = statistics.median(times[("gateway", kind)]) * 1000
        raw = statistics.median(times[("raw", kind)]) * 1000
        print(f"  {kind:<9}  gateway {gateway:8.1f}   raw {raw:8.1f}   gateway/raw {gateway / raw:5.2f}")
