"""Does a second worker double what `serve` answers? And do the workers share the connections?

    .venv/bin/python bench/workers.py [--rounds 3] [--seconds 8] [--connections 32] [--baseline REF]

Starts embedded stores (the demo data, kept in --data-dir), then `omnify-gateway serve
--workers 1` and `--workers 2` of this checkout (and, with --baseline, `serve --workers 2`
of that commit, exported as bench/compare.py does), all at once and idle but for the
one measured. Each round, in an order that rotates, every server answers the campaigns
document (bench/campaigns.graphql) on --connections keep-alive connections for --seconds.
Printed per round and server: requests per second, p50, which worker holds how many of
the connections (read from /proc while the load runs), the CPU time each worker used,
and (this checkout) the requests each worker answered, from its /healthz. Then the
median throughput ratio, two workers over one. Nothing asserts: the figures are to read,
on a machine whose two cores also run PostgreSQL, the load generator and other work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_stores import prepare_stores, system_url_of  # noqa: E402
from compare import CAMPAIGNS, MONGO_DB, Server, cpu_seconds, load_average, previous_checkout  # noqa: E402

from tests.support.issuer import AUDIENCE, TestIssuer  # noqa: E402

BENCH = ROOT / "bench"


def socket_inodes(pid: int) -> set[str]:
    found = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                found.add(target[8:-1])
    except OSError:
        pass
    return found


def connections_per_worker(port: int, workers: list[int]) -> list[int]:
    """How many established client connections to `port` each worker holds now."""
    established = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                established.add(fields[9])
    return [len(socket_inodes(pid) & established) for pid in workers]


def served_per_worker(port: int, workers: list[int]) -> dict[int, int] | None:
    """{worker pid: GraphQL requests it answered}, asked over fresh connections; None if /healthz does not say."""
    seen: dict[int, int] = {}
    for _ in range(200):
        with httpx.Client(timeout=10) as http:
            health = http.get(f"http://127.0.0.1:{port}/healthz").json()
        if "requests" not in health:
            return None
        seen[health["pid"]] = health["requests"]
        if set(workers) <= set(seen):
            break
    return seen


def measure(server: Server, token: str, connections: int, seconds: float) -> dict[str, Any]:
    workers = server.workers()
    served = served_per_worker(server.port, workers)
    cpu = [cpu_seconds([pid]) for pid in workers]
    spec = {"path": "/graphql", "headers": {"Authorization": f"Bearer {token}"}, "bodies": [{"query": CAMPAIGNS}]}
    load = subprocess.Popen(
        [sys.executable, str(BENCH / "loadgen.py"), str(server.port), str(connections), str(seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert load.stdin is not None and load.stdout is not None
    load.stdin.write(json.dumps(spec).encode())
    load.stdin.close()
    time.sleep(min(2.0, seconds / 2))
    held = connections_per_worker(server.port, workers)
    result: dict[str, Any] = json.loads(load.stdout.read())
    load.wait()
    result["held"] = held
    result["cpu"] = [cpu_seconds([pid]) - before for pid, before in zip(workers, cpu, strict=True)]
    after = served_per_worker(server.port, workers) if served is not None else None
    result["served"] = None if after is None or served is None else [after[p] - served.get(p, 0) for p in workers]
    return result


def start(args: argparse.Namespace, data_dir: Path, app_url: str, mongo_url: str, issuer: TestIssuer) -> list[Server]:
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
        # One organization's load on purpose: no fair share (bench/fairness.py measures that).
        "OMNIFY_RATE_LIMITS": "off",
        "OMNIFY_ADMISSION_PER_ORG": "10000",
        "OMNIFY_ADMISSION_PER_WORKER": "10000",
    }
    env.pop("PYTHONPATH", None)
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    serve = [sys.executable, "-m", "gateway.ops.cli", "serve", "--workers"]
    servers = [
        Server(f"{n} worker{'s' if n > 1 else ''}", [*serve, str(n)], ROOT, env, logs / f"w{n}.log") for n in (1, 2)
    ]
    if args.baseline:
        previous = previous_checkout(args.baseline, data_dir)
        servers.append(
            Server(f"2 @{args.baseline}", [*serve, "2"], previous, {**env, "PYTHONPATH": str(previous)}, logs / "b.log")
        )
    for server in servers:
        server.start()
    try:
        for server in servers:
            server.wait_ready()
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


def report(servers: list[Server], token: str, args: argparse.Namespace) -> None:
    print(f"cores: {os.cpu_count()}; load before: {load_average()}; {args.connections} connections, campaigns document")
    for server in servers:  # warm every worker's caches and pools
        measure(server, token, args.connections, 3)
    rates: dict[str, list[float]] = {s.name: [] for s in servers}
    for round_ in range(args.rounds):
        shift = round_ % len(servers)
        for server in servers[shift:] + servers[:shift]:
            r = measure(server, token, args.connections, args.seconds)
            rate = r["requests"] / r["seconds"]
            rates[server.name].append(rate)
            cpu = "/".join(f"{c:.1f}" for c in r["cpu"])
            served = "-" if r["served"] is None else "/".join(str(s) for s in r["served"])
            held = "/".join(str(h) for h in r["held"])
            print(
                f"round {round_ + 1} {server.name:<14} {rate:7.1f} req/s  p50 {r['p50']:6.1f} ms  errors {r['errors']}"
                f"  connections {held:<7} requests {served:<11} CPU s {cpu}"
            )
        print(f"  (load {load_average()})")
    one, two = statistics.median(rates["1 worker"]), statistics.median(rates["2 workers"])
    each = ", ".join(f"{b / a:.2f}" for a, b in zip(rates["1 worker"], rates["2 workers"], strict=True))
    print(f"\nmedian req/s: 1 worker {one:.1f}, 2 workers {two:.1f}; ratio {two / one:.2f} (per round: {each})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--baseline", default=None, help="also measure `serve --workers 2` of this git ref")
    parser.add_argument("--data-dir", default=str(ROOT / ".omnify-bench"))
    args = parser.parse_args()
    data_dir = Path(args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    _, app_url, mongo_url, embedded = asyncio.run(prepare_stores(data_dir, MONGO_DB, seed_once=True))
    issuer = TestIssuer().start()
    servers: list[Server] = []
    try:
        servers = start(args, data_dir, app_url, mongo_url, issuer)
        report(servers, issuer.token("acme", "admin", exp=int(time.time()) + 6 * 3600), args)
    finally:
        for server in servers:
            server.stop()
        issuer.stop()
        for item in reversed(embedded):
            item.stop()


if __name__ == "__main__":
    main()
