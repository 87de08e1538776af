"""Where a serving worker's CPU goes: py-spy over one gateway worker under load, summarised.

    .venv/bin/python bench/profile_server.py [--document dashboard50] [--connections 8] [--seconds 20]
                                             [--server gateway|raw] [--top 40]

Starts the stores (as `compare.py` does, in `--data-dir`), the test issuer and one
server with one worker, drives it with `loadgen.py`, and samples the worker with
py-spy (`pip install py-spy`; it needs ptrace). It prints, for the busy samples
only (idle waits in `select`/`epoll` left out), the functions with the largest
inclusive and self share, and groups of frames (by module prefix) inclusively, so
that "the executor", "asyncpg", "JSON" and "the HTTP layer" can be read off.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(HERE))

from bench_stores import prepare_stores, system_url_of  # noqa: E402
from compare import CAMPAIGNS, DASHBOARD, MONGO_DB, Server, load  # noqa: E402

from tests.support.issuer import AUDIENCE, TestIssuer  # noqa: E402

TOTALS = (HERE / "campaigns_totals.graphql").read_text()
IDLE = ("select (selectors.py", "poll (selectors.py", "_run_once (asyncio/base_events.py")
# Frame groups, first match wins (a frame's file path contains the key).
GROUPS = [
    ("planned executor", "resolvers/execution/"),
    ("resolvers", "resolvers/"),
    ("data layer", "gateway/data/"),
    ("stores (gateway)", "gateway/stores/"),
    ("auth", "gateway/core/auth.py"),
    ("HTTP layer (gateway)", "gateway/"),
    ("asyncpg", "asyncpg/"),
    ("pymongo/bson", "pymongo/"),
    ("strawberry", "strawberry/"),
    ("graphql-core", "graphql/"),
    ("uvicorn/h11/starlette", "uvicorn/"),
    ("uvicorn/h11/starlette", "h11/"),
    ("uvicorn/h11/starlette", "starlette/"),
    ("jwt/crypto", "joserfc/"),
    ("jwt/crypto", "authlib/"),
    ("jwt/crypto", "cryptography/"),
    ("aiodataloader", "aiodataloader/"),
    ("asyncio", "asyncio/"),
]


def documents() -> dict[str, dict[str, object]]:
    today = dt.datetime.now(dt.UTC).date()
    window = {"from": str(today - dt.timedelta(days=29)), "to": str(today)}
    return {
        "campaigns": {"query": CAMPAIGNS},
        "totals": {"query": TOTALS, "variables": window},
        "dashboard5": {"query": DASHBOARD, "variables": {"n": 5, "m": 5, **window}},
        "dashboard50": {"query": DASHBOARD, "variables": {"n": 50, "m": 20, **window}},
    }


def summarise(raw: Path, top: int) -> None:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    groups: collections.Counter[str] = collections.Counter()
    busy = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        frames = stack.split(";")
        if not frames or any(frames[-1].startswith(idle) for idle in IDLE):
            continue
        count = int(count_text)
        busy += count
        for name in set(frames):
            inclusive[name] += count
        own[frames[-1]] += count
        seen = {label for frame in frames for label, key in GROUPS if key in frame and _first(frame) == label}
        for label in seen:
            groups[label] += count
    if not busy:
        print("no busy samples")
        return
    print(f"busy samples: {busy}")
    print("\ngroups (inclusive, % of busy samples):")
    for label, count in groups.most_common():
        print(f"  {100 * count / busy:5.1f}  {label}")
    print("\nself:")
    for name, count in own.most_common(top):
        print(f"  {100 * count / busy:5.1f}  {name[:150]}")
    print("\ninclusive:")
    for name, count in inclusive.most_common(top):
        print(f"  {100 * count / busy:5.1f}  {name[:150]}")
    print("\ninclusive, the gateway's own frames:")
    own_frames = [(n, c) for n, c in inclusive.most_common() if "(gateway/" in n or "(resolvers/" in n]
    for name, count in own_frames[:top]:
        print(f"  {100 * count / busy:5.1f}  {name[:150]}")


def _first(frame: str) -> str:
    return next((label for label, key in GROUPS if key in frame), "")


def main(args: argparse.Namespace) -> None:
    data_dir = Path(args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pg_url, app_url, mongo_url, embedded = asyncio.run(prepare_stores(data_dir, MONGO_DB, seed_once=True))
    issuer = TestIssuer().start()
    env = {
        **os.environ,
        "DATABASE_URL": pg_url,
        "MONGO_URL": mongo_url,
        "MONGO_DB": MONGO_DB,
        "OIDC_ISSUER": issuer.url,
        "OIDC_AUDIENCE": AUDIENCE,
        "OMNIFY_HOST": "127.0.0.1",
        "OMNIFY_WORKERS": "1",
        "OMNIFY_LOG_LEVEL": "WARNING",
        "OMNIFY_RATE_LIMITS": "off",
    }
    env.pop("PYTHONPATH", None)
    logs = data_dir / "logs"
    logs.mkdir(exist_ok=True)
    if args.server == "raw":
        command = [sys.executable, "-m", "uvicorn", "--factory", "--port", "{port}", "--log-level", "warning"]
        server = Server("raw", [*command, "--app-dir", str(HERE), "raw_server:app"], ROOT, env, logs / "raw.log")
    else:
        command = [sys.executable, "-m", "gateway.ops.cli", "serve", "--workers", "1"]
        logins = {"DATABASE_URL": app_url, "DATABASE_SYSTEM_URL": system_url_of(app_url)}
        server = Server("gateway", command, ROOT, {**env, **logins}, logs / "gateway.log")
    server.start()
    try:
        server.wait_ready()
        token = issuer.token("acme", "admin", exp=int(time.time()) + 3600)
        body = documents()[args.document]
        load(server.port, token, [body], 4, 2.0)  # warm
        worker = server.workers()[0]
        if args.strace:
            # System calls of the worker per request instead of a profile (strace -c, all threads).
            tracer = subprocess.Popen(["strace", "-c", "-f", "-p", str(worker)], stderr=subprocess.PIPE, text=True)
            time.sleep(1.0)
            result = load(server.port, token, [body], args.connections, args.seconds)
            tracer.send_signal(signal.SIGINT)
            _, report = tracer.communicate(timeout=60)
            print(f"{args.server} {args.document} at {args.connections} connections: {result['requests']} requests")
            print(report)
            return
        raw = Path(tempfile.mkdtemp()) / "profile.txt"
        spy = subprocess.Popen(
            [str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(worker), "-d", str(int(args.seconds))]
            + ["-f", "raw", "-o", str(raw), "-r", "200"]
            + (["--native"] if args.native else ["--nonblocking"]),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        result: dict[str, object] = {}
        runner = threading.Thread(
            target=lambda: result.update(load(server.port, token, [body], args.connections, args.seconds))
        )
        runner.start()
        runner.join()
        spy_output, _ = spy.communicate(timeout=args.seconds + 60)
        if not raw.exists():
            raise SystemExit(f"py-spy wrote nothing:\n{spy_output.decode()[-2000:]}")
        print(f"{args.server} {args.document} at {args.connections} connections: {result.get('requests')} requests")
        summarise(raw, args.top)
    finally:
        server.stop()
        issuer.stop()
        for item in reversed(embedded):
            item.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--document", default="dashboard50", choices=sorted(documents()))
    parser.add_argument("--server", default="gateway", choices=["gateway", "raw"])
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--native", action="store_true", help="C frames too (py-spy --native)")
    parser.add_argument("--strace", action="store_true", help="count system calls (strace -c) instead")
    parser.add_argument("--data-dir", default=str(ROOT / ".omnify-bench"))
    main(parser.parse_args())
