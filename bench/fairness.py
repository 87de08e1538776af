"""Fairness: one organization's small queries while another organization runs heavy ones.

    .venv/bin/python bench/fairness.py [--workers N] [--rounds 4] [--seconds 8] [--heavy 16]
                                       [--rate-limits JSON|off] [--redis-url URL] [--data-dir DIR]

Starts embedded PostgreSQL and MongoDB-wire servers in DIR (seeded once and kept,
as bench/compare.py does; or BENCH_DATABASE_URL / BENCH_MONGO_URL), a JWT issuer,
and `omnify-gateway serve` with the given worker count (default: one per core).
The victim is a globex viewer sending a page of five campaign names over one
connection, one request at a time; the neighbour is acme, an admin sending the
dashboard (n=50, m=20, a month of metrics: allowed, cost 8,718) over `--heavy`
connections at once. Each round measures the victim alone and while acme runs
(the order alternating from round to round, so a noisy machine hurts both
alike), and prints p50, p99 and throughput of both, the ratios, the HTTP status
counts (any 429 shows there) and the load average. Rate limits are set so high
that none applies (`--rate-limits` to change that): what is measured is the
admission control per organization, whose settings (OMNIFY_ADMISSION_*) are read
from the environment like every other setting. Nothing asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_stores import prepare_stores, system_url_of  # noqa: E402
from compare import BENCH, DASHBOARD, MONGO_DB, Server, load  # noqa: E402

from gateway.core.config import RATE_LIMIT_ROLES, available_cores  # noqa: E402
from tests.support.issuer import AUDIENCE, TestIssuer  # noqa: E402

SMALL = "{ organization { campaigns(first: 5) { edges { node { name } } } } }"
UNLIMITED = {"burst": 1_000_000_000, "perSecond": 1_000_000_000}
HIGH_LIMITS = json.dumps(
    {
        "roles": dict.fromkeys(RATE_LIMIT_ROLES, UNLIMITED),
        "partner": UNLIMITED,
        "invitee": UNLIMITED,
        "organization": UNLIMITED,
    }
)


def start_load(port: int, token: str, bodies: list[dict[str, Any]], connections: int, seconds: float) -> Any:
    spec = {"path": "/graphql", "headers": {"Authorization": f"Bearer {token}"}, "bodies": bodies}
    process = subprocess.Popen(
        [sys.executable, str(BENCH / "loadgen.py"), str(port), str(connections), str(seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdin is not None
    process.stdin.write(json.dumps(spec).encode())
    process.stdin.close()
    return process


def finish_load(process: Any) -> dict[str, Any]:
    out = process.stdout.read()
    process.wait(timeout=60)
    result: dict[str, Any] = json.loads(out)
    return result


def rate(result: dict[str, Any]) -> float:
    return float(result["requests"]) / float(result["seconds"])


def row(name: str, result: dict[str, Any]) -> str:
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(result.get("statuses", {}).items()))
    return (
        f"  {name:<22} {rate(result):8.1f} req/s  p50 {result['p50']:8.1f} ms  p99 {result['p99']:8.1f} ms  "
        f"[{statuses}]" + (f"  first error: {result['firstError'][:200]}" if result.get("firstError") else "")
    )


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(args: argparse.Namespace) -> None:
    data_dir = Path(args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "logs").mkdir(exist_ok=True)
    _, app_url, mongo_url, embedded = asyncio.run(prepare_stores(data_dir, MONGO_DB, seed_once=True))
    issuer = TestIssuer().start()
    env = {
        **os.environ,
        "DATABASE_URL": app_url,
        "DATABASE_SYSTEM_URL": system_url_of(app_url),
        "MONGO_URL": mongo_url,
        "MONGO_DB": MONGO_DB,
        "OIDC_ISSUER": issuer.url,
        "OIDC_AUDIENCE": AUDIENCE,
        "OMNIFY_HOST": "127.0.0.1",
        "OMNIFY_LOG_LEVEL": "WARNING",
        "OMNIFY_RATE_LIMITS": args.rate_limits,
    }
    env.pop("PYTHONPATH", None)
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
    command = [sys.executable, "-m", "gateway.ops.cli", "serve", "--workers", str(args.workers)]
    gateway = Server("gateway", command, ROOT, env, data_dir / "logs" / "fairness.log")
    try:
        gateway.start()
        gateway.wait_ready()
        expires = int(time.time()) + 6 * 3600
        victim = issuer.token("globex", "viewer", exp=expires)
        neighbour = issuer.token("acme", "admin", exp=expires)
        today = dt.datetime.now(dt.UTC).date()
        window = {"from": str(today - dt.timedelta(days=29)), "to": str(today)}
        small = [{"query": SMALL}]
        heavy = [{"query": DASHBOARD, "variables": {"n": 50, "m": 20, **window}}]
        admission = {k: v for k, v in env.items() if k.startswith("OMNIFY_ADMISSION_")}
        print(
            f"workers: {args.workers}; cores: {os.cpu_count()}; acme connections: {args.heavy}; "
            f"admission settings: {admission or 'defaults'}; rate limits: "
            f"{'too high to apply' if args.rate_limits == HIGH_LIMITS else args.rate_limits or 'default'}"
        )
        print(f"load average before: {loadavg()}")
        load(gateway.port, victim, small, 1, 1.0)  # warm-up: imports, pools, caches
        load(gateway.port, neighbour, heavy, 4, 3.0)
        alone: list[dict[str, Any]] = []
        loaded: list[dict[str, Any]] = []
        neighbours: list[dict[str, Any]] = []
        for round_ in range(args.rounds):
            print(f"round {round_ + 1}/{args.rounds} (load average {loadavg()})")
            for phase in ("alone", "loaded") if round_ % 2 == 0 else ("loaded", "alone"):
                if phase == "alone":
                    alone.append(load(gateway.port, victim, small, 1, args.seconds))
                    print(row("globex alone", alone[-1]))
                    continue
                background = start_load(gateway.port, neighbour, heavy, args.heavy, args.seconds + 4)
                time.sleep(2.0)  # acme's queries fill the workers first
                loaded.append(load(gateway.port, victim, small, 1, args.seconds))
                neighbours.append(finish_load(background))
                print(row("globex with acme busy", loaded[-1]))
                print(row(f"acme x{args.heavy} dashboard", neighbours[-1]))
        report(alone, loaded, neighbours)
        print(f"load average after: {loadavg()}")
    finally:
        gateway.stop()
        issuer.stop()
        for item in reversed(embedded):
            item.stop()


def report(alone: list[dict[str, Any]], loaded: list[dict[str, Any]], neighbours: list[dict[str, Any]]) -> None:
    def median(results: list[dict[str, Any]], key: str) -> float:
        return statistics.median(rate(r) if key == "rps" else float(r[key]) for r in results)

    a_rps, l_rps = median(alone, "rps"), median(loaded, "rps")
    a50, l50, a99, l99 = median(alone, "p50"), median(loaded, "p50"), median(alone, "p99"), median(loaded, "p99")
    print("\nmedians over the rounds (globex: one connection, a page of 5 campaign names):")
    print(f"  globex alone:          {a_rps:8.1f} req/s  p50 {a50:7.1f} ms  p99 {a99:7.1f} ms")
    print(f"  globex with acme busy: {l_rps:8.1f} req/s  p50 {l50:7.1f} ms  p99 {l99:7.1f} ms")
    print(
        f"  ratios: throughput kept {100 * l_rps / a_rps:5.1f} %, p50 x{l50 / a50:.1f}, p99 x{l99 / a99:.1f}"
        f"  (targets: >= 50 %, p99 <= x50)"
    )
    print(f"  acme dashboard:        {median(neighbours, 'rps'):8.1f} req/s  p50 {median(neighbours, 'p50'):7.1f} ms")
    count_429 = sum(r.get("statuses", {}).get("429", 0) for r in [*alone, *loaded, *neighbours])
    print(f"  HTTP 429 answers in all: {count_429}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=available_cores())
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8.0, help="per measurement")
    parser.add_argument("--heavy", type=int, default=16, help="acme's concurrent dashboard connections")
    parser.add_argument(
        "--rate-limits", default=HIGH_LIMITS, help="OMNIFY_RATE_LIMITS for the run (default: too high to apply)"
    )
    parser.add_argument("--redis-url", default="", help="share the rate limits through this Redis")
    parser.add_argument("--data-dir", default=str(ROOT / ".omnify-bench"))
    run(parser.parse_args())


if __name__ == "__main__":
    main()
