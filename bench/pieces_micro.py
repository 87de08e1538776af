"""What the fixed parts of a request cost in CPU, each measured alone in-process.

    .venv/bin/python bench/pieces_micro.py [--calls 300] [--rounds 5]

Uses the stores of `planner_micro.py` (`--data-dir`, seeded once) and the test issuer
over HTTP. Per piece, the minimum over the rounds of this thread's CPU per call:

- verifying an ES256 token and resolving its principal (`Authenticator.authenticate`,
  the organization directory cached as in a serving worker);
- the GraphQL pipeline around a trivial document (`{ __typename }`: cached parse,
  validation and limits, the planned executor's extension);
- one PostgreSQL statement through the tenant reader against the same statement on
  the bare asyncpg connection, inside one transaction;
- one MongoDB `find` through `TenantMongo` against the same on the bare collection;
- encoding the 50x20 dashboard's answer with orjson.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(1, str(HERE))

import orjson  # noqa: E402
from bench_stores import prepare_stores  # noqa: E402

from gateway.core.config import IssuerConfig, Settings  # noqa: E402
from gateway.core.context import RequestContext  # noqa: E402
from gateway.core.runtime import tune_gc  # noqa: E402
from gateway.http.app import Gateway  # noqa: E402
from gateway.stores.tracing import StoreTrace, current_trace  # noqa: E402
from resolvers.schema import build_schema  # noqa: E402
from tests.support.issuer import AUDIENCE, TestIssuer  # noqa: E402

SCHEMA = build_schema()
TODAY = dt.datetime.now(dt.UTC).date()
DASHBOARD = (HERE / "dashboard.graphql").read_text()


async def cpu_per_call(call: Callable[[], Awaitable[Any]], calls: int, rounds: int) -> float:
    """Thread CPU microseconds per call, the minimum over `rounds`."""
    for _ in range(min(calls, 20)):
        await call()
    best = float("inf")
    for _ in range(rounds):
        started = time.thread_time()
        for _ in range(calls):
            await call()
        best = min(best, (time.thread_time() - started) / calls)
    return best * 1e6


async def main(args: argparse.Namespace) -> None:
    data_dir = Path(args.data_dir)
    _, app_url, mongo_url, embedded = await prepare_stores(data_dir, "omnify_bench", seed_once=True)
    issuer = TestIssuer().start()
    settings = Settings(
        mode="production",
        mongo_url=mongo_url,
        database_url=app_url,
        mongo_db="omnify_bench",
        issuers=(IssuerConfig(issuer=issuer.url, audience=AUDIENCE),),
    )
    gateway = Gateway.build(settings)
    await gateway.postgres.open()
    await gateway.mongo.open()
    tune_gc()
    try:
        token = issuer.token("acme", "admin", exp=int(time.time()) + 3600)
        principal = await gateway.authenticator.authenticate(token)
        org = principal.organization

        def context() -> RequestContext:
            trace = StoreTrace()
            current_trace.set(trace)
            return RequestContext(
                principal=principal,
                settings=gateway.settings,
                _mongo=gateway.mongo.tenant(org.enterprise_id),
                _postgres=gateway.postgres.reader(org.brain_id) if org.brain_id else None,
                trace=trace,
                request_id="pieces",
                services=gateway.services,
            )

        figures: dict[str, float] = {}
        figures["authenticate an ES256 token"] = await cpu_per_call(
            lambda: gateway.authenticator.authenticate(token), args.calls, args.rounds
        )

        async def trivial() -> None:
            ctx = context()
            result = await SCHEMA.execute("{ __typename }", context_value=ctx)
            assert not result.errors
            await ctx.close()

        figures["GraphQL pipeline, { __typename }"] = await cpu_per_call(trivial, args.calls, args.rounds)

        ctx = context()
        reader = ctx.postgres
        sql = "SELECT id, name, status FROM campaigns WHERE organization_id = $1 ORDER BY name LIMIT 5"
        await reader.fetch(sql, org.brain_id)
        figures["PostgreSQL statement, tenant reader"] = await cpu_per_call(
            lambda: reader.fetch(sql, org.brain_id), args.calls, args.rounds
        )
        tenant = await reader._connection()
        conn = tenant.conn
        figures["PostgreSQL statement, bare asyncpg"] = await cpu_per_call(
            lambda: conn.fetch(sql, org.brain_id), args.calls, args.rounds
        )
        await ctx.close()

        mongo = gateway.mongo.tenant(org.enterprise_id)
        figures["MongoDB find, TenantMongo"] = await cpu_per_call(
            lambda: mongo.find("agentkit_workflows", {}, sort=[("name", 1)], limit=5), args.calls, args.rounds
        )
        collection = gateway.mongo.db["agentkit_workflows"]

        async def bare_find() -> Any:
            cursor = collection.find({"organization_id": org.enterprise_id}).sort([("name", 1)]).limit(5)
            return await cursor.to_list(None)

        figures["MongoDB find, bare PyMongo"] = await cpu_per_call(bare_find, args.calls, args.rounds)

        ctx = context()
        variables = {"n": 50, "m": 20, "from": str(TODAY - dt.timedelta(days=29)), "to": str(TODAY)}
        answer = await SCHEMA.execute(DASHBOARD, variables, context_value=ctx)
        await ctx.close()
        payload = {"data": answer.data}

        async def encode() -> bytes:
            return orjson.dumps(payload)

        figures[f"orjson, dashboard 50x20 ({len(orjson.dumps(payload)):,} bytes)"] = await cpu_per_call(
            encode, args.calls, args.rounds
        )
        for name, micros in figures.items():
            print(f"{name:48} {micros:8.1f} µs CPU per call")
    finally:
        await gateway.mongo.close()
        await gateway.postgres.close()
        await gateway.http.aclose()
        issuer.stop()
        for item in reversed(embedded):
            item.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--data-dir", default=str(HERE.parent / ".omnify-bench"))
    parsed = parser.parse_args()
    Path(parsed.data_dir).mkdir(parents=True, exist_ok=True)
    asyncio.run(main(parsed))
