"""Before/after in-process CPU per request: this checkout against another commit, interleaved.

    .venv/bin/python bench/ab_micro.py [--baseline REF] [--rounds 4] [--requests 20] [--documents ...]

Starts the stores once (as `planner_micro.py` does, in `--data-dir`), exports REF
with `git archive`, then runs `planner_micro.py --json` for each checkout in turn, the
order alternating from round to round, each run a fresh process. Per document it prints
the minimum over the rounds of each checkout's thread CPU per request and their ratio:
other work on a shared machine slows both alike, and the minimum is the least disturbed.
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


def run(code: Path, args: argparse.Namespace, app_url: str, mongo_url: str) -> dict[str, list[float]]:
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
        "--code",
        str(code),
    ]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if done.returncode != 0:
        raise SystemExit(f"{code}: planner_micro failed:\n{done.stderr[-3000:]}")
    found: dict[str, list[float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


async def stores(data_dir: Path) -> tuple[str, str, list[object]]:
    _, app_url, mongo_url, embedded = await prepare_stores(data_dir, "omnify_bench", seed_once=True)
    return app_url, mongo_url, embedded


def main(args: argparse.Namespace) -> None:
    data_dir = Path(args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    baseline = checkout(args.baseline, data_dir)
    app_url, mongo_url, embedded = asyncio.run(stores(data_dir))
    versions = {"before": baseline, "after": ROOT}
    best: dict[tuple[str, str], float] = {}
    try:
        for round_ in range(args.rounds):
            order = list(versions) if round_ % 2 == 0 else list(reversed(versions))
            for name in order:
                for key, (cpu, _) in run(versions[name], args, app_url, mongo_url).items():
                    document = key.split("/")[0]
                    best[(document, name)] = min(cpu, best.get((document, name), cpu))
    finally:
        for item in reversed(embedded):
            item.stop()  # type: ignore[attr-defined]
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"thread CPU ms per request, min of {args.rounds} rounds; load average {' '.join(load)}")
    print(f"{'document':12} {'before':>8} {'after':>8} {'after/before':>13}")
    for document in args.documents.split(","):
        before, after = best[(document, "before")], best[(document, "after")]
        print(f"{document:12} {before:8.2f} {after:8.2f} {after / before:13.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", default="HEAD~1")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--inner-rounds", type=int, default=2, help="rounds inside each process")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--documents", default="campaigns,totals,dashboard5,dashboard,enterprise")
    parser.add_argument("--data-dir", default=str(ROOT / ".omnify-bench"))
    main(parser.parse_args())
