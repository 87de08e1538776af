"""A one-statement read through the tenant reader: wall time, thread CPU and round trips, against another commit.

    .venv/bin/python bench/read_round_trips.py [--baseline main] [--reads 300] [--rounds 5]

Starts the stores of `.omnify-bench` (as `compare.py` does, seeded once), exports the
baseline with `git archive`, then, in a fresh process per checkout and round (the order
rotating), opens the gateway's `PostgresStore` on one connection and makes `--reads` reads
of acme's campaign page, each a request's whole PostgreSQL work: a reader, the statement,
`close()` (the session reset included). This checkout reads it twice: as the first statement
of a snapshot (`fetch`) and alone (`fetch_alone`, what a page PostgreSQL writes does when it is
the request's only statement). It prints the median wall time per read, thread CPU per read
and round trips per read, each the best of the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Nothing of the gateway is imported here: a worker imports it from the checkout it measures.

PAGE = "SELECT id, name, status FROM campaigns WHERE organization_id = $1 ORDER BY name LIMIT 20"


async def measure(code: Path, urls: list[str], reads: int, alone: bool) -> dict[str, float]:
    sys.path.insert(0, str(code))
    from gateway.ops.seed import uid
    from gateway.stores.postgres import PostgresStore
    from gateway.stores.tracing import StoreTrace, current_trace

    store = PostgresStore(urls[0], max_size=1, system_url=urls[1])
    await store.open()
    org = uid("org", "acme")
    walls: list[float] = []
    trace = StoreTrace()
    try:
        for i in range(reads + 20):
            if i == 20:  # warmed up: prepared statements, the fence key, the connection
                trace = StoreTrace()
                cpu = time.thread_time()
            current_trace.set(trace)
            started = time.perf_counter()
            reader = store.reader(org)
            rows = await (reader.fetch_alone if alone else reader.fetch)(PAGE, org)
            await reader.close()
            if i >= 20:
                walls.append(time.perf_counter() - started)
            assert len(rows) == 20
        cpu = time.thread_time() - cpu
    finally:
        await store.close()
    return {
        "wall_ms": statistics.median(walls) * 1000,
        "cpu_ms": cpu / reads * 1000,
        "round_trips": trace.postgres.round_trips / reads,
    }


def run(code: Path, urls: list[str], reads: int, alone: bool) -> dict[str, float]:
    command = [sys.executable, __file__, "--worker", str(code), "--urls", ",".join(urls), "--reads", str(reads)]
    done = subprocess.run([*command, *(["--alone"] if alone else [])], capture_output=True, text=True, check=True)
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main(args: argparse.Namespace) -> None:
    sys.path[:0] = [str(ROOT), str(HERE)]
    from ab_micro import checkout
    from bench_stores import prepare_stores, system_url_of

    data_dir = Path(args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    ways = {f"{args.baseline}, fetch": (checkout(args.baseline, data_dir), False)}
    ways |= {"this checkout, fetch": (ROOT, False), "this checkout, fetch_alone": (ROOT, True)}
    _, app_url, _, embedded = asyncio.run(prepare_stores(data_dir, "omnify_bench", seed_once=True))
    urls = [app_url, system_url_of(app_url)]
    best: dict[str, dict[str, float]] = {}
    names = list(ways)
    try:
        for round_ in range(args.rounds):
            for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                code, alone = ways[name]
                figures = run(code, urls, args.reads, alone)
                kept = best.setdefault(name, figures)
                best[name] = {key: min(value, kept[key]) for key, value in figures.items()}
    finally:
        for item in reversed(embedded):
            item.stop()
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"one-statement reads, best of {args.rounds} rounds of {args.reads}; load average {load}")
    print(f"{'way':32} {'wall ms (median)':>17} {'CPU ms':>8} {'round trips':>12}")
    for name in names:
        f = best[name]
        print(f"{name:32} {f['wall_ms']:17.3f} {f['cpu_ms']:8.3f} {f['round_trips']:12.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="main")
    parser.add_argument("--reads", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--data-dir", default=str(ROOT / ".omnify-bench"))
    parser.add_argument("--worker", default="", help=argparse.SUPPRESS)
    parser.add_argument("--urls", default="", help=argparse.SUPPRESS)
    parser.add_argument("--alone", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        urls = arguments.urls.split(",")
        result = asyncio.run(measure(Path(arguments.worker), urls, arguments.reads, arguments.alone))
        print(json.dumps(result))
    else:
        main(arguments)
