"""The audit outbox: how fast a backlog reaches MongoDB, by batch size.

    .venv/bin/python bench/outbox.py [--events 20000] [--batches 1,100,500] [--rounds 3]
                                     [--max-seconds 20] [--before REF] [--data-dir DIR]

Starts embedded PostgreSQL and MongoDB-wire servers in DIR (seeded once and kept, as
bench/compare.py does; or BENCH_DATABASE_URL / BENCH_MONGO_URL). Each round, for each
batch size (the order rotating from round to round, so a noisy machine hurts each
alike), it queues `--events` audit events of the seeded organizations in turn (one
transaction, as a burst of mutations leaves them), then runs the gateway's own
dispatcher (`OutboxDispatcher.dispatch_once`, on the system login, with its notices)
until the outbox is empty or `--max-seconds` passed, and counts what was delivered.
Prints events/s per batch size (median of the rounds, and each round), the ratio to
batch size 1, and this process's CPU per 1,000 events. `--before main` adds the
dispatcher of that git revision (gateway/core/outbox.py as it was there, at its own
default batch size) to every round, as a baseline. The queued events are removed
afterwards, from both stores. Nothing asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_stores import prepare_stores, system_url_of  # noqa: E402

from gateway.core import outbox, snapshot  # noqa: E402
from gateway.stores.mongo import MongoStore  # noqa: E402
from gateway.stores.postgres import PostgresStore  # noqa: E402

MONGO_DB = "omnify_bench"
ACTOR = "bench-outbox"
PENDING = "SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND document->'actor'->>'id' = $1"


async def enqueue(owner: asyncpg.Connection[asyncpg.Record], organizations: list[str], count: int) -> None:
    records = []
    for i in range(count):
        event = outbox.audit_event(
            organization_key=organizations[i % len(organizations)],
            actor={"type": "user", "id": ACTOR},
            action="campaign.budget_shifted",
            target_type="Campaign",
            target_id=str(uuid.uuid4()),
            details={"input": {"amount": "25.00", "reason": "ROAS 3.1 vs 1.2"}, "n": i},
            request_id=str(uuid.uuid4()),
        )
        records.append((uuid.UUID(event["event_id"]), event["organization_id"], json.dumps(snapshot.encode(event))))
    async with owner.transaction():
        await owner.executemany(
            "INSERT INTO outbox (event_id, organization_key, document) VALUES ($1, $2, $3::jsonb)", records
        )


async def clean(owner: asyncpg.Connection[asyncpg.Record], mongo: MongoStore) -> None:
    await owner.execute("DELETE FROM outbox WHERE document->'actor'->>'id' = $1", ACTOR)
    await mongo.db.audit_logs.delete_many({"actor.id": ACTOR})


def dispatcher_of(ref: str) -> Any:
    """The `OutboxDispatcher` class of gateway/core/outbox.py at git revision `ref`."""
    source = subprocess.run(
        ["git", "show", f"{ref}:gateway/core/outbox.py"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "outbox_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("outbox_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.OutboxDispatcher


async def drain(
    dispatcher: Any, owner: asyncpg.Connection[asyncpg.Record], max_seconds: float
) -> tuple[int, float, float]:
    """(events delivered, seconds, CPU seconds of this process) until nothing is left or time is up."""
    before, cpu, started = dispatcher.delivered, time.process_time(), time.perf_counter()
    while time.perf_counter() - started < max_seconds:
        if not await dispatcher.dispatch_once() and not await owner.fetchval(PENDING, ACTOR):
            break
    return dispatcher.delivered - before, time.perf_counter() - started, time.process_time() - cpu


async def run(args: argparse.Namespace, data_dir: Path, before: Any) -> None:
    owner_url, app_url, mongo_url, embedded = await prepare_stores(data_dir, MONGO_DB, seed_once=True)
    try:
        await measure(args, owner_url, app_url, mongo_url, before)
    finally:
        for server in reversed(embedded):
            server.stop()


async def measure(args: argparse.Namespace, owner_url: str, app_url: str, mongo_url: str, before: Any) -> None:
    owner = await asyncpg.connect(owner_url)
    postgres = PostgresStore(app_url, 1, 4, 10.0, system_url=system_url_of(app_url))
    mongo = MongoStore(mongo_url, MONGO_DB, 10.0)
    makers: dict[str, Any] = {
        str(n): lambda n=int(n): outbox.OutboxDispatcher(postgres, mongo, batch_size=n) for n in args.batches.split(",")
    }
    if before is not None:
        makers[f"{args.before}*"] = lambda: before(postgres, mongo)
    sizes = list(makers)
    results: dict[str, list[tuple[int, float, float]]] = {n: [] for n in sizes}
    try:
        await postgres.open()
        await mongo.open()
        organizations = [
            r["enterprise_org_id"] for r in await owner.fetch("SELECT enterprise_org_id FROM organizations")
        ]
        await clean(owner, mongo)
        for round_ in range(args.rounds):
            order = sizes[round_ % len(sizes) :] + sizes[: round_ % len(sizes)]
            for size in order:
                await enqueue(owner, organizations, args.events)
                results[size].append(await drain(makers[size](), owner, args.max_seconds))
                await clean(owner, mongo)
                delivered, seconds, _ = results[size][-1]
                print(f"round {round_ + 1} batch {size:>6}: {delivered:>6,} events in {seconds:5.1f} s", flush=True)
    finally:
        await clean(owner, mongo)
        await owner.close()
        await mongo.close()
        await postgres.close()
    report(results, args, len(organizations))


def report(results: dict[str, list[tuple[int, float, float]]], args: argparse.Namespace, organizations: int) -> None:
    print(
        f"\n{args.events:,} events queued per run ({organizations} organizations in turn), {args.rounds} rounds, "
        f"at most {args.max_seconds:g} s per run, load average {os.getloadavg()[0]:.2f}"
    )
    print(f"{'batch':>6} {'events/s (median)':>18} {'each round':>28} {'vs batch 1':>11} {'CPU ms/1k events':>17}")
    base: float | None = None
    for size, runs in results.items():
        rates = [delivered / seconds for delivered, seconds, _ in runs]
        median = statistics.median(rates)
        base = median if size == "1" else base
        cpu = sum(c for _, _, c in runs) / max(1, sum(d for d, _, _ in runs)) * 1e6
        ratio = f"{median / base:.1f}x" if base else "-"
        each = " ".join(f"{r:,.0f}" for r in rates)
        print(f"{size:>6} {median:>18,.0f} {each:>28} {ratio:>11} {cpu:>17.1f}")
    if args.before:
        print(f"{args.before}*: the dispatcher of {args.before}, one MongoDB upsert and one notice per event")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batches", default="1,100,500")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=20.0)
    parser.add_argument("--before", default="", help="also run the dispatcher of this git revision, e.g. main")
    parser.add_argument("--data-dir", default=str(ROOT / ".omnify-bench"))
    args = parser.parse_args()
    data_dir = Path(args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(run(args, data_dir, dispatcher_of(args.before) if args.before else None))


if __name__ == "__main__":
    main()
