"""Benchmarks: latency and throughput of typical requests against a real gateway.

    .venv/bin/python bench/run.py [--requests 200] [--concurrency 8]

Starts embedded PostgreSQL and MongoDB-wire servers in a temporary directory
(or uses BENCH_DATABASE_URL / BENCH_MONGO_URL), seeds the demo data, serves
the gateway on a local socket and prints figures. Nothing here asserts: the
numbers are for reading and comparing, machines differ.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_stores import prepare_stores, system_url_of

from gateway.core.config import IssuerConfig, RateLimits, Settings
from gateway.http.app import create_app
from gateway.ops.dev_issuer import AUDIENCE, DevIssuer
from gateway.ops.embedded import free_port

DASHBOARD = (Path(__file__).parent / "dashboard.graphql").read_text()
SHIFT = "mutation($i: ShiftBudgetInput!) { shiftBudget(input: $i) { userErrors { code } } }"


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return f"p50 {pick(0.5):7.1f} ms  p95 {pick(0.95):7.1f} ms  p99 {pick(0.99):7.1f} ms  mean {statistics.mean(ordered) * 1000:7.1f} ms"


def _wait_started(server: uvicorn.Server) -> None:
    while not server.started:
        time.sleep(0.05)


async def load(
    http: httpx.AsyncClient, body: Any, token: str, requests: int, concurrency: int
) -> tuple[list[float], float]:
    samples: list[float] = []
    queue = list(range(requests))

    async def worker() -> None:
        while queue:
            item = queue.pop()
            payload = body(item) if callable(body) else body
            started = time.perf_counter()
            response = await http.post("/graphql", json=payload, headers={"Authorization": f"Bearer {token}"})
            samples.append(time.perf_counter() - started)
            assert response.status_code == 200 and "errors" not in response.json(), response.text[:300]

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return samples, time.perf_counter() - started


async def main(args: argparse.Namespace) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="omnify-bench-"))
    _, app_url, mongo_url, embedded = await prepare_stores(data_dir, "omnify_bench")

    port = free_port()
    issuer = DevIssuer.load(data_dir, f"http://127.0.0.1:{port}/dev-issuer")
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
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, extra_routes=issuer.routes()), port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    await asyncio.to_thread(_wait_started, server)
    token = issuer.mint(org="acme", role="admin")
    today = dt.datetime.now(dt.UTC).date()
    window = {"from": str(today - dt.timedelta(days=29)), "to": str(today)}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
        for n, m in ((5, 5), (50, 20)):
            body = {"query": DASHBOARD, "variables": {"n": n, "m": m, **window}}
            traced = (
                await http.post(
                    "/graphql", json=body, headers={"Authorization": f"Bearer {token}", "X-Omnify-Debug": "stores"}
                )
            ).json()
            stores = traced["extensions"]["stores"]
            samples, elapsed = await load(http, body, token, args.requests, args.concurrency)
            print(
                f"dashboard n={n:>2} m={m:>2}: {len(samples) / elapsed:6.1f} req/s  {percentiles(samples)}  "
                f"round trips: postgres {stores['postgres']['roundTrips']}, mongo {stores['mongo']['roundTrips']}"
            )
        ids = (
            await http.post(
                "/graphql",
                json={
                    "query": "{ organization { campaigns(first: 5, filter: {status: [ACTIVE]}) { edges { node { id } } } } }"
                },
                headers={"Authorization": f"Bearer {token}"},
            )
        ).json()
        five = [e["node"]["id"] for e in ids["data"]["organization"]["campaigns"]["edges"]]

        def shift(i: int) -> dict[str, Any]:
            return {
                "query": SHIFT,
                "variables": {
                    "i": {"fromCampaignId": five[i % 5], "toCampaignId": five[(i + 1) % 5], "amount": "0.01"}
                },
            }

        samples, elapsed = await load(http, shift, token, args.requests, args.concurrency)
        print(f"shiftBudget           : {len(samples) / elapsed:6.1f} req/s  {percentiles(samples)}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the benchmark process (gateway + client): {rss:.0f} MiB")
    server.should_exit = True
    await asyncio.to_thread(thread.join, 15)
    for item in reversed(embedded):
        item.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    asyncio.run(main(parser.parse_args()))
