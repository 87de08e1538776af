"""Saturation: many concurrent `shiftBudget` writers and dashboard readers against one gateway.

    .venv/bin/python bench/saturation.py [--seconds 30] [--writers 200] [--readers 64] [--n 50] [--m 20]

Starts embedded PostgreSQL and MongoDB-wire servers (or uses BENCH_DATABASE_URL /
BENCH_MONGO_URL), seeds the demo data, serves the gateway in a process of its own
with the default pool (20 connections) and keeps every client busy for the given
time. Prints requests, errors, sheds (HTTP 503), latency, whether the moved budget
is conserved, and how long requests waited for a pooled PostgreSQL connection (from
the gateway's own histogram). Nothing here asserts: the figures are for reading.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing
import random
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_stores import prepare_stores, system_url_of

from gateway.core.config import IssuerConfig, RateLimits, Settings
from gateway.ops.dev_issuer import AUDIENCE, DevIssuer
from gateway.ops.embedded import free_port

DASHBOARD = (Path(__file__).parent / "dashboard.graphql").read_text()
SHIFT = "mutation($i: ShiftBudgetInput!) { shiftBudget(input: $i) { userErrors { code } } }"
CAMPAIGNS = "{ organization { campaigns(first: 100, filter: {status: [ACTIVE]}) { edges { node { id dailyBudget { currency } } } } } }"


def serve(settings: Settings, data_dir: Path, issuer_url: str) -> None:
    import uvicorn

    from gateway.http.app import create_app

    issuer = DevIssuer.load(data_dir, issuer_url)
    uvicorn.run(create_app(settings, extra_routes=issuer.routes()), port=settings.port, log_level="warning")


def percentiles(samples: list[float]) -> str:
    if not samples:
        return "no samples"
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return (
        f"p50 {pick(0.5):7.1f} ms  p95 {pick(0.95):7.1f} ms  p99 {pick(0.99):7.1f} ms  max {ordered[-1] * 1000:7.1f} ms"
    )


def pool_wait_summary(metrics: str) -> str:
    """Count, mean and bucket-resolution quantiles of `omnify_pg_pool_wait_seconds`."""
    buckets: list[tuple[float, float]] = []
    total = count = 0.0
    for line in metrics.splitlines():
        if line.startswith("omnify_pg_pool_wait_seconds_bucket"):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float("inf") if bound == "+Inf" else float(bound), float(line.rsplit(" ", 1)[1])))
        elif line.startswith("omnify_pg_pool_wait_seconds_sum"):
            total = float(line.rsplit(" ", 1)[1])
        elif line.startswith("omnify_pg_pool_wait_seconds_count"):
            count = float(line.rsplit(" ", 1)[1])
    if not count:
        return "no acquisitions"

    def upper(q: float) -> str:
        bound = next(b for b, c in buckets if c >= q * count)
        return f"<= {bound * 1000:g} ms" if bound != float("inf") else "> 30 s"

    return (
        f"{count:.0f} acquisitions, mean {total / count * 1000:.1f} ms, "
        f"p50 {upper(0.5)}, p95 {upper(0.95)}, p99 {upper(0.99)}"
    )


async def budget_sum(pg_url: str, ids: list[str]) -> Decimal:
    from gateway.data.ids import from_global_id

    conn = await asyncpg.connect(pg_url)
    try:
        raw = [from_global_id(i)[1] for i in ids]
        return Decimal(await conn.fetchval("SELECT sum(daily_budget) FROM campaigns WHERE id::text = ANY($1)", raw))
    finally:
        await conn.close()


async def main(args: argparse.Namespace) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="omnify-bench-"))
    pg_url, app_url, mongo_url, embedded = await prepare_stores(data_dir, "omnify_bench")

    port = free_port()
    issuer_url = f"http://127.0.0.1:{port}/dev-issuer"
    issuer = DevIssuer.load(data_dir, issuer_url)  # creates the key the server process loads
    settings = Settings(
        mode="dev",
        mongo_url=mongo_url,
        database_url=app_url,
        database_system_url=system_url_of(app_url),
        mongo_db="omnify_bench",
        issuers=(IssuerConfig(issuer=issuer.issuer, audience=AUDIENCE),),
        port=port,
        # One organization's load on purpose: no fair share (bench/fairness.py measures that).
        rate_limits=RateLimits(enabled=False),
        admission_per_org=10_000,
        admission_per_worker=10_000,
    )
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(settings, data_dir, issuer_url))
    server.start()
    token = issuer.mint(org="acme", role="admin")
    headers = {"Authorization": f"Bearer {token}"}
    today = dt.datetime.now(dt.UTC).date()
    dashboard = {
        "query": DASHBOARD,
        "variables": {"n": args.n, "m": args.m, "from": str(today - dt.timedelta(days=29)), "to": str(today)},
    }
    # Idle connections are dropped before the server's 5 s keep-alive ends, so a request
    # never races the server closing the connection it was sent on.
    limits = httpx.Limits(max_connections=args.writers + args.readers + 10, keepalive_expiry=2)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120, limits=limits) as http:
        deadline = time.monotonic() + 60
        while True:
            try:
                if (await http.get("/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the gateway did not become ready")
            await asyncio.sleep(0.2)
        listed = (await http.post("/graphql", json={"query": CAMPAIGNS}, headers=headers)).json()
        usd = [
            e["node"]["id"]
            for e in listed["data"]["organization"]["campaigns"]["edges"]
            if e["node"]["dailyBudget"]["currency"] == "USD"
        ][:5]
        before = await budget_sum(pg_url, usd)
        outcomes: dict[str, Counter[str]] = {"shiftBudget": Counter(), "dashboard": Counter()}
        latency: dict[str, list[float]] = {"shiftBudget": [], "dashboard": []}
        failures: list[str] = []
        stop_at = time.monotonic() + args.seconds
        rng = random.Random(7)

        async def one(kind: str, body: dict[str, Any]) -> None:
            started = time.perf_counter()
            try:
                response = await http.post("/graphql", json=body, headers=headers)
            except httpx.HTTPError as exc:
                outcomes[kind]["transport error"] += 1
                failures.append(f"{kind}: {type(exc).__name__}")
                return
            latency[kind].append(time.perf_counter() - started)
            if response.status_code == 503:
                outcomes[kind]["shed (503)"] += 1
                return
            payload = response.json() if response.status_code == 200 else {}
            if response.status_code != 200 or payload.get("errors"):
                outcomes[kind]["error"] += 1
                failures.append(f"{kind}: {response.status_code} {response.text[:200]}")
            elif kind == "shiftBudget" and payload["data"]["shiftBudget"]["userErrors"]:
                outcomes[kind]["refused: " + payload["data"]["shiftBudget"]["userErrors"][0]["code"]] += 1
            else:
                outcomes[kind]["ok"] += 1

        async def writer() -> None:
            while time.monotonic() < stop_at:
                source, target = rng.sample(usd, 2)
                amount = f"{rng.randint(1, 100) / 100:.2f}"
                variables = {"i": {"fromCampaignId": source, "toCampaignId": target, "amount": amount}}
                await one("shiftBudget", {"query": SHIFT, "variables": variables})

        async def reader() -> None:
            while time.monotonic() < stop_at:
                await one("dashboard", dashboard)

        started = time.perf_counter()
        await asyncio.gather(*(writer() for _ in range(args.writers)), *(reader() for _ in range(args.readers)))
        elapsed = time.perf_counter() - started
        after = await budget_sum(pg_url, usd)
        metrics = (await http.get("/metrics")).text

    print(
        f"{args.writers} shiftBudget writers + {args.readers} dashboard readers (n={args.n}, m={args.m}) "
        f"for {elapsed:.1f} s, pool of {settings.pg_pool_max} connections"
    )
    for kind in ("shiftBudget", "dashboard"):
        count = sum(outcomes[kind].values())
        print(f"  {kind:<11}: {count:6d} requests ({count / elapsed:6.1f}/s)  {percentiles(latency[kind])}")
        print(f"  {'':<11}  {dict(sorted(outcomes[kind].items()))}")
    print(
        f"  budget of the 5 campaigns: before {before}, after {after}: {'conserved' if before == after else 'CHANGED'}"
    )
    print(f"  pool wait: {pool_wait_summary(metrics)}")
    for line in failures[:5]:
        print(f"  failure: {line}")
    server.terminate()
    server.join(15)
    for item in reversed(embedded):
        item.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--writers", type=int, default=200)
    parser.add_argument("--readers", type=int, default=64)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--m", type=int, default=20)
    asyncio.run(main(parser.parse_args()))
