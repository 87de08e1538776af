"""The same organization on a small and on a large database: does its cost stay the same?

    .venv/bin/python bench/scale.py [--baseline main] [--workers 2] [--connections 1,8] [--rounds 2]
                                    [--seconds 8] [--warmup 6] [--small-dir DIR] [--large-dir DIR]

Two embedded PostgreSQL + MongoDB-wire pairs: the demo database (acme, globex,
initech: `seed`) and a large one (`seed --size large`: ten organizations of
varied sizes, one five times the demo's; about 1.5 M metric rows), each seeded
once into its directory and kept. acme's data is the same on both. On each
database run this checkout's `omnify-gateway serve` and the gateway at
`--baseline` (exported with `git archive`, as bench/compare.py does), both as
the restricted login.

For acme, each measurement first warms every connection with smaller
dashboards (n=5, m=5, for `--warmup` seconds at the same connection count:
PostgreSQL then holds each prepared statement's cache of plans the way a
serving gateway does), then runs one document for `--seconds`: the dashboard
at n=50, m=20 (`bench/dashboard.graphql`) or the campaigns query
(`bench/campaigns.graphql`). It prints p50, requests per second, the CPU time
PostgreSQL spent per request (every process of the embedded server, from
/proc) and the gateway's, and the ratio large/small of each. The order of
servers and databases rotates between rounds. Nothing asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_stores import prepare_stores, system_url_of  # noqa: E402
from compare import CAMPAIGNS, DASHBOARD, Server, cpu_seconds, data_of, load, tree_cpu_seconds  # noqa: E402

from tests.support.issuer import AUDIENCE, TestIssuer  # noqa: E402

MONGO_DB = "omnify_bench"
ORG = "acme"


@dataclass
class Database:
    name: str
    pg_url: str
    app_url: str
    mongo_url: str
    embedded: list[Any]

    def postgres_cpu(self) -> float:
        """CPU seconds of the embedded server so far: the postmaster, its backends, and those that ended."""
        pgdata = next(e.pgdata for e in self.embedded if hasattr(e, "pgdata"))
        return tree_cpu_seconds(int((pgdata / "postmaster.pid").read_text().split()[0]))


@dataclass
class Sample:
    requests: int
    seconds: float
    errors: int
    p50: float
    pg_s: float
    gateway_s: float
    first_error: str | None


def measure(
    server: Server, db: Database, token: str, bodies: list[dict[str, Any]], conns: int, seconds: float
) -> Sample:
    gw_pids = server.pids
    pg0, gw0 = db.postgres_cpu(), cpu_seconds(gw_pids)
    result = load(server.port, token, bodies, conns, seconds)
    return Sample(
        result["requests"],
        result["seconds"],
        result["errors"],
        result["p50"],
        db.postgres_cpu() - pg0,
        cpu_seconds(gw_pids) - gw0,
        result["firstError"],
    )


def summarize(samples: list[Sample]) -> dict[str, float]:
    requests = max(sum(s.requests for s in samples), 1)
    return {
        "rps": statistics.median(s.requests / s.seconds for s in samples),
        "p50": statistics.median(s.p50 for s in samples),
        "pg_ms": 1000 * sum(s.pg_s for s in samples) / requests,
        "gw_ms": 1000 * sum(s.gateway_s for s in samples) / requests,
        "errors": sum(s.errors for s in samples),
    }


def start_servers(
    args: argparse.Namespace, databases: list[Database], issuer: TestIssuer
) -> list[tuple[Server, Database]]:
    from compare import previous_checkout

    env = {
        **os.environ,
        "MONGO_DB": MONGO_DB,
        "OIDC_ISSUER": issuer.url,
        "OIDC_AUDIENCE": AUDIENCE,
        "OMNIFY_HOST": "127.0.0.1",
        "OMNIFY_WORKERS": str(args.workers),
        "OMNIFY_LOG_LEVEL": "WARNING",
    }
    env.pop("PYTHONPATH", None)
    logs = Path(args.large_dir).resolve() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    previous = previous_checkout(args.baseline, Path(args.large_dir).resolve())
    uvicorn = [sys.executable, "-m", "uvicorn", "--factory", "--workers", str(args.workers), "--port", "{port}"]
    uvicorn += ["--log-level", "warning", "--no-access-log", "previous_app:app"]
    servers = []
    for db in databases:
        db_env = {
            **env,
            "DATABASE_URL": db.app_url,
            "DATABASE_SYSTEM_URL": system_url_of(db.app_url),
            "MONGO_URL": db.mongo_url,
        }
        serve = [sys.executable, "-m", "gateway.ops.cli", "serve", "--workers", str(args.workers)]
        servers.append((Server(f"gateway@{db.name}", serve, ROOT, db_env, logs / f"gateway-{db.name}.log"), db))
        prev_env = {**db_env, "PYTHONPATH": str(previous)}
        servers.append(
            (Server(f"previous@{db.name}", uvicorn, previous, prev_env, logs / f"previous-{db.name}.log"), db)
        )
    for server, _ in servers:
        server.start()
    for server, _ in servers:
        server.wait_ready()
    return servers


def run(args: argparse.Namespace) -> None:
    if os.environ.get("BENCH_DATABASE_URL") or os.environ.get("BENCH_MONGO_URL"):
        raise SystemExit("scale.py runs two embedded databases of its own: unset BENCH_DATABASE_URL / BENCH_MONGO_URL")
    databases = []
    for name, size, directory in (("small", "demo", args.small_dir), ("large", "large", args.large_dir)):
        data_dir = Path(directory).resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        urls = asyncio.run(prepare_stores(data_dir, MONGO_DB, seed_once=True, size=size))
        databases.append(Database(name, *urls))
    issuer = TestIssuer().start()
    servers: list[tuple[Server, Database]] = []
    try:
        servers = start_servers(args, databases, issuer)
        report(args, servers, issuer)
    finally:
        for server, _ in servers:
            server.stop()
        issuer.stop()
        for db in databases:
            for item in reversed(db.embedded):
                item.stop()


def report(args: argparse.Namespace, servers: list[tuple[Server, Database]], issuer: TestIssuer) -> None:
    token = issuer.token(ORG, "admin", exp=int(time.time()) + 6 * 3600)
    today = dt.datetime.now(dt.UTC).date()
    window = {"from": str(today - dt.timedelta(days=29)), "to": str(today)}
    warm = [{"query": DASHBOARD, "variables": {"n": 5, "m": 5, **window}}]
    documents: dict[str, list[dict[str, Any]]] = {
        "dashboard n=50 m=20": [{"query": DASHBOARD, "variables": {"n": 50, "m": 20, **window}}],
        "campaigns 50x20": [{"query": CAMPAIGNS}],
    }
    print(f"\nload before: {load_average()}; workers per server: {args.workers}; cores: {os.cpu_count()}")
    print(f"{ORG}'s answers on the large database equal those on the small one (parsed and re-encoded):")
    for name, bodies in documents.items():
        answers = {
            db.name: data_of(server, token, bodies[0]) for server, db in servers if server.name.startswith("gateway")
        }
        print(
            f"  {name:<22} {'yes' if answers['small'] == answers['large'] else 'NO'} ({len(answers['small']):,} bytes)"
        )
    connections = [int(c) for c in args.connections.split(",")]
    results: dict[tuple[str, int, str], list[Sample]] = {}
    for round_ in range(args.rounds):
        order = servers[round_ % len(servers) :] + servers[: round_ % len(servers)]
        for name, bodies in documents.items():
            for conns in connections:
                for server, db in order:
                    load(server.port, token, warm, conns, args.warmup)
                    sample = measure(server, db, token, bodies, conns, args.seconds)
                    results.setdefault((name, conns, server.name), []).append(sample)
                    if sample.first_error:
                        print(f"  {server.name} {name} c={conns}: {sample.first_error[:300]}")
        print(f"round {round_ + 1}/{args.rounds} done (load {load_average()})")
    print_table(results, documents, connections)


def print_table(
    results: dict[tuple[str, int, str], list[Sample]], documents: dict[str, Any], connections: list[int]
) -> None:
    print(
        f"\n{'document':<22} {'conns':>5} {'server':<9} {'database':<8} {'req/s':>7} {'p50 ms':>8} "
        f"{'PG ms/req':>9} {'gw ms/req':>9} {'errors':>6}   large/small: p50, PG ms/req"
    )
    for name in documents:
        for conns in connections:
            for checkout in ("previous", "gateway"):
                found = {db: summarize(results[(name, conns, f"{checkout}@{db}")]) for db in ("small", "large")}
                for db, s in found.items():
                    extra = ""
                    if db == "large":
                        small = found["small"]
                        extra = f"   {s['p50'] / small['p50']:5.2f}  {s['pg_ms'] / max(small['pg_ms'], 1e-9):5.2f}"
                    print(
                        f"{name:<22} {conns:>5} {checkout:<9} {db:<8} {s['rps']:>7.1f} {s['p50']:>8.1f} "
                        f"{s['pg_ms']:>9.1f} {s['gw_ms']:>9.1f} {s['errors']:>6}{extra}"
                    )


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=8.0, help="per measurement")
    parser.add_argument("--warmup", type=float, default=6.0, help="seconds of n=5, m=5 dashboards before each")
    parser.add_argument("--connections", default="1,8")
    parser.add_argument("--baseline", default="main", help="git ref of the previous gateway")
    parser.add_argument("--small-dir", default=str(ROOT / ".omnify-bench"))
    parser.add_argument("--large-dir", default=str(ROOT / ".omnify-bench-large"))
    run(parser.parse_args())


if __name__ == "__main__":
    main()
