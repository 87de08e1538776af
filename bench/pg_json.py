"""PostgreSQL writing the JSON of a page, against the gateway reading its rows: measured side by side.

    .venv/bin/python bench/pg_json.py [--requests 20] [--rounds 3] [--seconds 8] [--concurrency 1,32]

Two documents, `campaigns` (50 campaigns x 20 creatives) and `totals` (the same with each
campaign's and each creative's totals over 30 days, `bench/campaigns_totals.graphql`), each
answered by the gateway's schema and planned executor two ways, in one process, interleaved:

- rows:  the executor reads the rows and writes the answer (compiled selections, rows to JSON);
- in-PG: one statement writes the page's JSON text with lateral joins (`resolvers/execution/
  in_postgres.py`), which the gateway parses into the answer.

It first checks that both give byte-identical bodies, then prints per design: the gateway's
CPU per request (thread time, one request at a time, the minimum over rounds), and under load
at each concurrency the throughput, latency p50/p99, the gateway's CPU and PostgreSQL's CPU per
request (utime+stime of the server's backends, the postmaster's children, from /proc).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(1, str(HERE))

import planner_micro as pm  # noqa: E402

from gateway.core.auth import Principal  # noqa: E402
from gateway.http.app import Gateway  # noqa: E402
from resolvers.execution import in_postgres  # noqa: E402
from resolvers.execution.documents import _documents  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def postgres_cpu(pgdata: Path) -> float:
    """CPU seconds of the server's backends so far (the postmaster's children)."""
    postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


class Designs:
    def __init__(self, gateway: Gateway, principal: Principal) -> None:
        self.gateway, self.principal = gateway, principal

    async def answer(self, document: str, in_pg: bool) -> bytes:
        if in_postgres.ENABLED is not in_pg:
            in_postgres.ENABLED = in_pg
            _documents.clear()  # plans are made again with the design asked for
        query, variables = pm.DOCUMENTS[document]
        return await pm.run_once(self.gateway, self.principal, "planned", query, variables)

    async def rows(self, document: str) -> bytes:
        return await self.answer(document, in_pg=False)

    async def in_postgres(self, document: str) -> bytes:
        return await self.answer(document, in_pg=True)


async def run(
    call: Callable[[str], Awaitable[bytes]], document: str, concurrency: int, seconds: float, pgdata: Path
) -> dict[str, float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def loop() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await call(document)
            latencies.append(time.perf_counter() - started)

    cpu, pg, wall = time.process_time(), postgres_cpu(pgdata), time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    wall, cpu, pg = time.perf_counter() - wall, time.process_time() - cpu, postgres_cpu(pgdata) - pg
    latencies.sort()
    n = len(latencies)
    return {
        "rps": n / wall,
        "p50": 1000 * statistics.median(latencies),
        "p99": 1000 * latencies[min(n - 1, int(n * 0.99))],
        "gateway_ms": 1000 * cpu / n,
        "pg_ms": 1000 * pg / n,
    }


async def main(args: argparse.Namespace) -> None:
    args.executors = "planned"
    gateway, embedded = await pm.open_gateway(args)
    pm.tune_gc()
    pgdata = Path(args.data_dir) / "postgres"
    try:
        org = await gateway.directory.resolve("acme")
        assert org is not None
        designs = Designs(gateway, Principal("bench", "bench", "user", org, frozenset({"admin"})))
        ways = {"rows": designs.rows, "in-PG": designs.in_postgres}
        for document in ("campaigns", "totals"):
            mine, theirs = await designs.rows(document), await designs.in_postgres(document)
            same = "byte-identical" if mine == theirs else "DIFFERENT"
            print(f"{document}: {same} ({len(mine):,} bytes)")
            if mine != theirs:
                at = next(i for i, (a, b) in enumerate(zip(mine, theirs, strict=False)) if a != b)
                print(f"  rows  {mine[max(0, at - 80) : at + 80]!r}\n  in-PG {theirs[max(0, at - 80) : at + 80]!r}")
        # Thread CPU, one request at a time, minimum over rounds (the least disturbed figure).
        print("\ngateway thread CPU ms per request, one at a time (min of rounds):")
        for document in ("campaigns", "totals"):
            best: dict[str, float] = {}
            for _ in range(args.rounds):
                for name, call in ways.items():
                    await call(document)
                    started = time.thread_time()
                    for _ in range(args.requests):
                        await call(document)
                    spent = (time.thread_time() - started) / args.requests * 1000
                    best[name] = min(spent, best.get(name, spent))
            print(f"  {document:10} " + "  ".join(f"{name} {ms:6.2f}" for name, ms in best.items()))
        print("\nunder load (median of rounds): req/s, latency p50/p99 ms, gateway and PostgreSQL CPU ms per request")
        for document in ("campaigns", "totals"):
            for concurrency in [int(c) for c in args.concurrency.split(",")]:
                samples: dict[str, list[dict[str, float]]] = {name: [] for name in ways}
                for round_ in range(args.rounds):
                    order = list(ways) if round_ % 2 == 0 else list(reversed(ways))
                    for name in order:
                        samples[name].append(await run(ways[name], document, concurrency, args.seconds, pgdata))
                for name, found in samples.items():
                    m = {k: statistics.median(s[k] for s in found) for k in found[0]}
                    print(
                        f"  {document:10} c={concurrency:<3} {name:8} {m['rps']:7.1f} req/s  p50 {m['p50']:7.1f}  "
                        f"p99 {m['p99']:7.1f}  gateway {m['gateway_ms']:6.2f}  PostgreSQL {m['pg_ms']:6.2f}"
                    )
    finally:
        await gateway.mongo.close()
        await gateway.postgres.close()
        await gateway.http.aclose()
        for item in reversed(embedded):
            item.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", default="1,32")
    parser.add_argument("--data-dir", default=str(HERE.parent / ".omnify-bench"))
    parser.add_argument("--database-url", default="")
    parser.add_argument("--mongo-url", default="")
    parser.add_argument("--owner-url", default="")
    parsed = parser.parse_args()
    parsed.data_dir = Path(parsed.data_dir).resolve()
    parsed.data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(parsed))
