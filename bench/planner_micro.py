"""In-process micro-benchmark of the two executors (no HTTP, no auth): CPU and time per request.

    .venv/bin/python bench/planner_micro.py [--requests 50]

Starts embedded PostgreSQL and MongoDB-wire servers (or uses BENCH_DATABASE_URL /
BENCH_MONGO_URL), seeds the demo data and executes the campaigns 50×20 query and
the dashboard through `planned` and `standard`, printing ms and process CPU ms per
request (the store servers are other processes, so CPU is the gateway's own). The
garbage collector is tuned as in a serving worker (`gateway.runtime.tune_gc`).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_stores import prepare_stores, system_url_of

from gateway.app import Gateway
from gateway.auth import Principal
from gateway.config import IssuerConfig, RateLimits, Settings
from gateway.context import RequestContext
from gateway.runtime import tune_gc
from gateway.stores.tracing import StoreTrace, current_trace
from resolvers.schema import build_schema

CAMPAIGNS = (
    "{ organization { campaigns(first: 50) { edges { node { id name status dailyBudget { amount currency } "
    "creatives(first: 20) { edges { node { id name status format } } } } } } } }"
)
DASHBOARD = (Path(__file__).parent / "dashboard.graphql").read_text()


async def run_once(gateway: Gateway, principal: Principal, executor: str, query: str, variables: Any) -> str:
    org = principal.organization
    trace = StoreTrace()
    reset = current_trace.set(trace)
    context = RequestContext(
        principal=principal,
        settings=gateway.settings.with_overrides(executor=executor),
        _mongo=gateway.mongo.tenant(org.enterprise_id),
        _postgres=gateway.postgres.reader(org.brain_id) if org.brain_id else None,
        trace=trace,
        request_id="bench",
        services=gateway.services,
    )
    try:
        result = await SCHEMA.execute(query, variables, context_value=context)
        assert not result.errors, result.errors
        return json.dumps({"data": result.data})
    finally:
        current_trace.reset(reset)
        await context.close()


SCHEMA = build_schema()


async def measure(gateway: Gateway, principal: Principal, executor: str, query: str, variables: Any, n: int) -> str:
    for _ in range(3):
        await run_once(gateway, principal, executor, query, variables)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        await run_once(gateway, principal, executor, query, variables)
    wall, cpu = (time.perf_counter() - wall) / n * 1000, (time.process_time() - cpu) / n * 1000
    return f"{wall:7.1f} ms/request  {cpu:7.1f} ms CPU/request"


async def main(args: argparse.Namespace) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="omnify-micro-"))
    _, app_url, mongo_url, embedded = await prepare_stores(data_dir, "omnify_bench")
    settings = Settings(
        mode="production",
        mongo_url=mongo_url,
        database_url=app_url,
        database_system_url=system_url_of(app_url),
        mongo_db="omnify_bench",
        issuers=(IssuerConfig(issuer="http://127.0.0.1:1/unused", audience="bench"),),
        rate_limits=RateLimits(enabled=False),  # one principal, many requests: executors are measured here
    )
    gateway = Gateway.build(settings)
    await gateway.postgres.open()
    await gateway.mongo.open()
    tune_gc()  # as a serving worker does once its app is built
    try:
        org = await gateway.directory.resolve("acme")
        assert org is not None
        principal = Principal("bench", "bench", "user", org, frozenset({"admin"}))
        today = dt.datetime.now(dt.UTC).date()
        dashboard_vars = {"n": 50, "m": 20, "from": str(today - dt.timedelta(days=29)), "to": str(today)}
        for name, query, variables in (
            ("campaigns 50x20", CAMPAIGNS, None),
            ("dashboard 50x20", DASHBOARD, dashboard_vars),
        ):
            answers = {
                executor: await run_once(gateway, principal, executor, query, variables)
                for executor in ("standard", "planned")
            }
            assert answers["standard"] == answers["planned"], f"{name}: the executors disagree"
            for executor in ("standard", "planned"):
                figures = await measure(gateway, principal, executor, query, variables, args.requests)
                print(f"{name:16} {executor:9} {figures}")
    finally:
        await gateway.mongo.close()
        await gateway.postgres.close()
        await gateway.http.aclose()
        for item in reversed(embedded):
            item.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=50)
    asyncio.run(main(parser.parse_args()))
