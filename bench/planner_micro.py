"""In-process micro-benchmark of the executors (no HTTP, no auth): CPU per request.

    .venv/bin/python bench/planner_micro.py [--requests 20] [--rounds 5] [--documents campaigns,dashboard]
                                            [--executors planned,standard] [--profile DOC] [--json]

Starts embedded PostgreSQL and MongoDB-wire servers in `--data-dir` (default
`.omnify-bench`, seeded once and kept, as `bench/compare.py` does; or
BENCH_DATABASE_URL / BENCH_MONGO_URL), or uses the gateway login URL given with
`--database-url`/`--mongo-url` (as `bench/ab_micro.py` does for each checkout it runs).

Each document is executed `--requests` times per round through the schema, the answer
encoded with orjson as the HTTP layer does, and the figure is the minimum over the
rounds of this thread's CPU time per request (`time.thread_time`): the store servers
are other processes, and the minimum is the figure least disturbed by other work on a
shared machine. The garbage collector is tuned as in a serving worker.

The executor `raw` runs `bench/raw_server.py`'s hand-written answer of the same document
(campaigns and the dashboards) in the same process, on the same stores, interleaved with
the others: `--executors planned,raw` gives the gateway/raw ratio of the execution alone
(neither side's HTTP handling nor token check, which `pieces_micro.py` measures).

`--profile DOC` runs cProfile over that document instead and prints the top functions.
`--code DIR` imports the gateway from another checkout (for before/after comparisons).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import json
import os
import pstats
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _code_dir() -> Path:
    for index, arg in enumerate(sys.argv):
        if arg == "--code" and index + 1 < len(sys.argv):
            return Path(sys.argv[index + 1]).resolve()
        if arg.startswith("--code="):
            return Path(arg.split("=", 1)[1]).resolve()
    return HERE.parent


sys.path.insert(0, str(_code_dir()))
sys.path.insert(1, str(HERE))

import asyncpg  # noqa: E402
import orjson  # noqa: E402
import raw_server  # noqa: E402
from bench_stores import prepare_stores, system_url_of  # noqa: E402

from gateway.core.auth import Principal  # noqa: E402
from gateway.core.config import IssuerConfig, RateLimits, Settings  # noqa: E402
from gateway.core.context import RequestContext  # noqa: E402
from gateway.core.runtime import tune_gc  # noqa: E402
from gateway.http.app import Gateway  # noqa: E402
from gateway.stores.tracing import StoreTrace, current_trace  # noqa: E402
from resolvers.schema import build_schema  # noqa: E402

TODAY = dt.datetime.now(dt.UTC).date()
RANGE = {"from": str(TODAY - dt.timedelta(days=29)), "to": str(TODAY)}
ENTERPRISE = (
    "{ organization { members(first: 50) { edges { node { id email name enterpriseRoles status lastLoginAt } } } "
    "workflows(first: 20) { edges { node { id name status version createdAt "
    "executions(first: 10) { edges { node { id status triggeredBy createdAt startedAt finishedAt error } } } } } } "
    "auditLogs(first: 100) { edges { node { id action createdAt requestId eventId actor { kind id email } "
    "targetRef { type id } } } } } }"
)
DOCUMENTS: dict[str, tuple[str, dict[str, Any]]] = {
    "campaigns": ((HERE / "campaigns.graphql").read_text(), {}),
    "totals": ((HERE / "campaigns_totals.graphql").read_text(), RANGE),
    "dashboard5": ((HERE / "dashboard.graphql").read_text(), {"n": 5, "m": 5, **RANGE}),
    "dashboard": ((HERE / "dashboard.graphql").read_text(), {"n": 50, "m": 20, **RANGE}),
    "enterprise": (ENTERPRISE, {}),
}
RAW_DOCUMENTS = ("campaigns", "dashboard5", "dashboard")
SCHEMA = build_schema()
RAW: dict[str, Any] = {}  # the raw server's instance and the organization it answers for, when asked


async def run_raw(query: str, variables: Any) -> bytes:
    raw, org = RAW["server"], RAW["org"]
    if query == raw_server.CAMPAIGNS_50x20:
        data = await raw.campaigns(org, variables)
    elif query == raw_server.DASHBOARD:
        data = await raw.dashboard(org, variables)
    else:
        raise SystemExit("the raw server answers only the campaigns and dashboard documents")
    return orjson.dumps({"data": data})


async def run_once(gateway: Gateway, principal: Principal, executor: str, query: str, variables: Any) -> bytes:
    if executor == "raw":
        return await run_raw(query, variables)
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
    finally:
        current_trace.reset(reset)
        await context.close()
    return orjson.dumps({"data": result.data})


async def measure(gateway: Gateway, principal: Principal, executor: str, name: str, n: int) -> tuple[float, float]:
    """(thread CPU ms, wall ms) per request over one round of `n` requests."""
    query, variables = DOCUMENTS[name]
    wall, cpu = time.perf_counter(), time.thread_time()
    for _ in range(n):
        await run_once(gateway, principal, executor, query, variables)
    return (time.thread_time() - cpu) / n * 1000, (time.perf_counter() - wall) / n * 1000


async def open_gateway(args: argparse.Namespace) -> tuple[Gateway, list[Any]]:
    embedded: list[Any] = []
    owner_url, app_url, mongo_url = args.owner_url, args.database_url, args.mongo_url
    if not app_url or not mongo_url:
        data_dir = args.data_dir
        owner_url, app_url, mongo_url, embedded = await prepare_stores(data_dir, "omnify_bench", seed_once=True)
    if "raw" in args.executors.split(","):
        await open_raw(owner_url, mongo_url)
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
    return gateway, embedded


async def open_raw(owner_url: str, mongo_url: str) -> None:
    """The raw server's answering code, without its HTTP handling, on the same stores (it serves as the owner)."""
    os.environ.update(MONGO_URL=mongo_url, MONGO_DB="omnify_bench", OIDC_ISSUER="http://unused", OIDC_AUDIENCE="-")
    raw = raw_server.Raw()
    raw.pool = await asyncpg.create_pool(owner_url, min_size=1, max_size=4)
    RAW["server"], RAW["org"] = raw, await raw.org("acme")


async def main(args: argparse.Namespace) -> None:
    gateway, embedded = await open_gateway(args)
    tune_gc()  # as a serving worker does once its app is built
    names = args.documents.split(",")
    executors = args.executors.split(",")
    try:
        org = await gateway.directory.resolve("acme")
        assert org is not None
        principal = Principal("bench", "bench", "user", org, frozenset({"admin"}))
        for name in names:
            query, variables = DOCUMENTS[name]
            answers = {e: await run_once(gateway, principal, e, query, variables) for e in ("standard", "planned")}
            assert answers["standard"] == answers["planned"], f"{name}: the executors disagree"
            if "raw" in executors and name in RAW_DOCUMENTS:
                assert orjson.loads(await run_raw(query, variables)) == orjson.loads(answers["planned"]), name
        if args.profile:
            query, variables = DOCUMENTS[args.profile]
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.requests):
                await run_once(gateway, principal, executors[0], query, variables)
            profiler.disable()
            pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.restrict or "", args.top)
            return
        best: dict[tuple[str, str], tuple[float, float]] = {}
        for _ in range(args.rounds):
            for name in names:
                for executor in executors:
                    if executor == "raw" and name not in RAW_DOCUMENTS:
                        continue
                    await run_once(gateway, principal, executor, *DOCUMENTS[name])  # warm
                    cpu, wall = await measure(gateway, principal, executor, name, args.requests)
                    found = best.get((name, executor))
                    best[(name, executor)] = (min(cpu, found[0]), min(wall, found[1])) if found else (cpu, wall)
        if args.json:
            print(json.dumps({f"{n}/{e}": figures for (n, e), figures in best.items()}))
            return
        for (name, executor), (cpu, wall) in best.items():
            ratio = (
                f"  gateway/raw {cpu / best[(name, 'raw')][0]:5.2f}"
                if (name, "raw") in best and executor != "raw"
                else ""
            )
            print(f"{name:12} {executor:9} {cpu:7.2f} ms CPU/request  {wall:7.2f} ms/request{ratio}")
        print(f"(min of {args.rounds} rounds of {args.requests} requests)")
    finally:
        if RAW:
            await RAW["server"].stop()
        await gateway.mongo.close()
        await gateway.postgres.close()
        await gateway.http.aclose()
        for item in reversed(embedded):
            item.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20, help="requests per round and document")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--documents", default="campaigns,totals,dashboard5,dashboard,enterprise")
    parser.add_argument("--executors", default="planned")
    parser.add_argument("--data-dir", default=str(HERE.parent / ".omnify-bench"))
    parser.add_argument("--database-url", default="", help="the gateway login's URL (skips starting stores)")
    parser.add_argument("--owner-url", default="", help="the owner's URL, for the raw server's code")
    parser.add_argument("--mongo-url", default="")
    parser.add_argument("--code", default="", help="import the gateway from this checkout")
    parser.add_argument("--profile", default="", help="profile this document with cProfile instead")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--restrict", default="", help="only functions whose file matches this regex")
    parser.add_argument("--json", action="store_true")
    parsed = parser.parse_args()
    parsed.data_dir = Path(parsed.data_dir).resolve()
    parsed.data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(parsed))
