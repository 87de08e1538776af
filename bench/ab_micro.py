"""Before/after in-process CPU per request: this checkout against other commits, interleaved.

    .venv/bin/python bench/ab_micro.py [--baseline REF[,REF...]] [--rounds 4] [--requests 20] [--documents ...]

Starts the stores once (as `planner_micro.py` does, in `--data-dir`), exports each REF
with `git archive`, then runs `planner_micro.py --json` for each checkout in turn, the
order rotating from round to round, each run a fresh process; the raw server's answering
code (`--executors raw`) runs in each process too. Per document it prints the minimum over
the rounds of each checkout's thread CPU per request, its ratio to the first checkout's and
to the raw code's: other work on a shared machine slows them alike, and the minimum is the
least disturbed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(HERE))

from bench_stores import prepare_stores  # noqa: E402


def checkout(ref: str, data_dir: Path) -> Path:
    sha = subprocess.run(
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    target = data_dir / f"previous-{sha[:12]}"
    if not target.exists():
        partial = Path(tempfile.mkdtemp(dir=data_dir))
        archive = subprocess.run(["git", "archive", sha], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(partial)], input=archive, check=True)
        partial.rename(target)
    return target


def run(code: Path, args: argparse.Namespace, urls: tuple[str, str, str]) -> dict[str, list[float]]:
    owner_url, app_url, mongo_url = urls
    command = [
        sys.executable,
        str(HERE / "planner_micro.py"),
        "--json",
        "--rounds",
        str(args.inner_rounds),
        "--requests",
        str(args.requests),
        "--documents",
        args.documents,
        "--database-url",
        app_url,
        "--mongo-url",
        mongo_url,
        "--owner-url",
        owner_url,
        "--executors",
        "planned,raw",
        "--code",
        str(code),
    ]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if done.returncode != 0:
        raise SystemExit(f"{code}: planner_micro failed:\n{done.stderr[-3000:]}")
    found: dict[str, list[float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


async def stores(data_dir: Path) -> tuple[tuple[str, str, str], list[object]]:
    owner_url, app_url, mongo_url, embedded = await prepare_stores(data_dir, "omnify_bench", seed_once=True)
    return (owner_url, app_url, mongo_url), embedded


def main(args: argparse.Namespace) -> None:
    data_dir = Path(args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    versions = {ref: checkout(ref, data_dir) for ref in args.baseline.split(",")}
    versions["this checkout"] = ROOT
    urls, embedded = asyncio.run(stores(data_dir))
    best: dict[tuple[str, str], float] = {}
    names = list(versions)
    try:
        for round_ in range(args.rounds):
            for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                for key, (cpu, _) in run(versions[name], args, urls).items():
                    document, executor = key.split("/")
                    which = "raw" if executor == "raw" else name
                    best[(document, which)] = min(cpu, best.get((document, which), cpu))
    finally:
        for item in reversed(embedded):
            item.stop()  # type: ignore[attr-defined]
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"thread CPU ms per request, min of {args.rounds} rounds; load average {' '.join(load)}")
    print(f"{'document':12} {'version':24} {'CPU ms':>8} {'/first':>7} {'/raw':>6}")
    for document in args.documents.split(","):
        first = best[(document, names[0])]
        raw = best.get((document, "raw"))
        for name in names:
            cpu = best[(document, name)]
            versus = f"{cpu / raw:6.2f}" if raw else "     -"
            print(f"{document:12} {name:24} {cpu:8.2f} {cpu / first:7.2f} {versus}")
        if raw:
            print(f"{document:12} {'raw (in-process)':24} {raw:8.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", default="HEAD~1")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--inner-rounds", type=int, default=2, help="rounds inside each process")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--documents", default="campaigns,totals,dashboard5,dashboard,enterprise")
    parser.add_argument("--data-dir", default=str(ROOT / ".omnify-bench"))
    main(parser.parse_args())
