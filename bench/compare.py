"""Side by side: this gateway, a hand-written raw-driver server, and a previous commit of the gateway.

    .venv/bin/python bench/compare.py [--workers N] [--rounds 3] [--seconds 5] [--baseline REF]
                                      [--connections 1,32] [--soak 60] [--catalog 5] [--data-dir DIR]
                                      [--only gateway,raw,previous,pg5] [--documents campaigns,...]

One run starts embedded PostgreSQL and MongoDB-wire servers in DIR (seeded
once and kept, so reruns skip it; or BENCH_DATABASE_URL / BENCH_MONGO_URL),
a JWT issuer, and the servers `--only` names on the same stores with the same
worker count:

- gateway:  `omnify-gateway serve --workers N` from this checkout;
- raw:      bench/raw_server.py (ASGI + asyncpg + PyMongo + orjson, hand-written for these documents);
- previous: the gateway at REF (default HEAD~1), exported with `git archive`, served by uvicorn;
- pg5:      PostGraphile 5 (bench/postgraphile, see bench/pg5.py), connected as the owner, with no
            token check and no tenant transaction; it answers the two campaigns documents only.

It first checks that each document's `data` is identical across the Python
servers (compared after parsing and re-encoding, so key order and values must
match), and that PostGraphile's answer holds the same rows (campaign and
creative ids in order, and the spends with totals), then measures every (document, connections) pair on each server in turn, the
order rotating from round to round, so that a noisy neighbour hurts all three
alike. The load comes from bench/loadgen.py in its own process. CPU per
request is the servers' user+system time (/proc/<pid>/stat, supervisor and
workers) divided by the requests answered, and PostgreSQL's the same for the
embedded server's processes. A final soak runs the gateway at 64
connections and samples each worker's RSS. Nothing asserts: figures are for
reading.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pg5  # noqa: E402
from bench_stores import prepare_stores, system_url_of  # noqa: E402
from catalog_upsert import compare_catalog  # noqa: E402

from gateway.ops.embedded import free_port  # noqa: E402
from gateway.ops.seed_spec import uid  # noqa: E402
from tests.support.issuer import AUDIENCE, TestIssuer  # noqa: E402

BENCH = Path(__file__).resolve().parent
CAMPAIGNS = (BENCH / "campaigns.graphql").read_text()
CAMPAIGNS_TOTALS = (BENCH / "campaigns_totals.graphql").read_text()
DASHBOARD = (BENCH / "dashboard.graphql").read_text()
SHIFT = "mutation($i: ShiftBudgetInput!) { shiftBudget(input: $i) { userErrors { code } } }"
MONGO_DB = "omnify_bench"
ACME = uid("org", "acme")
CLK_TCK = os.sysconf("SC_CLK_TCK")
# A worker's app as the previous commit's `serve` builds it (with its collector tuning), or,
# for commits older than that entry point, the plain app.
PREVIOUS_APP = """
import importlib

for module in ("gateway.ops.serve", "gateway.ops.cli"):
    try:
        app = importlib.import_module(module).production_app
        break
    except (ImportError, AttributeError):
        pass
else:
    from gateway.http.app import create_app
    from gateway.core.config import load_settings

    def app():
        return create_app(load_settings())
"""


# --- processes ------------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def descendants(pid: int) -> list[int]:
    tree, found, todo = _children(), [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += tree.get(current, [])
    return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLK_TCK


def tree_cpu_seconds(root: int) -> float:
    """CPU time of `root` and every process under it, including those that ended since.

    An ended child's time is added to its parent's cutime/cstime when it is reaped
    (PostgreSQL's postmaster reaps its backends), so a pool that closes or opens
    connections during a measurement still counts all of their work. A child that
    ended but is not reaped yet (a zombie) shows its time nowhere: wait for the reaping.
    """
    for _ in range(100):
        pids = descendants(root)
        if not any(_state(pid) == "Z" for pid in pids):
            break
        time.sleep(0.02)
    try:
        fields = Path(f"/proc/{root}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    reaped = (int(fields[13]) + int(fields[14])) / CLK_TCK  # cutime, cstime
    return reaped + cpu_seconds(pids)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "?"


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class Server:
    name: str
    command: list[str]
    cwd: Path
    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**self.env, "OMNIFY_PORT": str(self.port)}
        command = [c.replace("{port}", str(self.port)) for c in self.command]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                command, cwd=self.cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited; see {self.log}:\n{self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"{self.name} did not start; see {self.log}")

    @property
    def pids(self) -> list[int]:
        assert self.process is not None
        return descendants(self.process.pid)

    def workers(self) -> list[int]:
        assert self.process is not None
        pids = self.pids
        spawned = [p for p in pids[1:] if b"spawn_main" in _cmdline(p)]
        return spawned or pids[1:] or pids[:1]  # uvicorn's spawned workers, node:cluster's forks, or one process

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


# --- stores and servers ---------------------------------------------------------------------


def previous_checkout(ref: str, data_dir: Path) -> Path:
    sha = subprocess.run(
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    target = data_dir / f"previous-{sha[:12]}"
    if not target.exists():
        partial = Path(tempfile.mkdtemp(dir=data_dir))
        archive = subprocess.run(["git", "archive", sha], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(partial)], input=archive, check=True)
        partial.rename(target)
    (target / "previous_app.py").write_text(PREVIOUS_APP)
    return target


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    bodies: list[dict[str, Any]]
    compare: bool = True
    # PostGraphile's documents for the same rows, when it has one (its `data` has another shape).
    pg5_bodies: list[dict[str, Any]] | None = None

    def bodies_for(self, server: Server) -> list[dict[str, Any]] | None:
        """What `server` is sent; None when it has no document for this scenario."""
        return self.pg5_bodies if server.name == "pg5" else self.bodies


@dataclass
class Sample:
    requests: int
    seconds: float
    errors: int
    p50: float
    p99: float
    cpu_s: float
    first_error: str | None
    pg_s: float = 0.0  # the embedded PostgreSQL's CPU time over the measurement


def load(port: int, token: str, bodies: list[dict[str, Any]], connections: int, seconds: float) -> dict[str, Any]:
    spec = {"path": "/graphql", "headers": {"Authorization": f"Bearer {token}"}, "bodies": bodies}
    done = subprocess.run(
        [sys.executable, str(BENCH / "loadgen.py"), str(port), str(connections), str(seconds)],
        input=json.dumps(spec).encode(),
        capture_output=True,
        check=True,
        timeout=seconds + 120,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def measure(
    server: Server, token: str, bodies: list[dict[str, Any]], connections: int, seconds: float, postgres: list[int]
) -> Sample:
    pids = server.pids
    before, pg_before = cpu_seconds(pids), sum(tree_cpu_seconds(p) for p in postgres)
    result = load(server.port, token, bodies, connections, seconds)
    used, pg_used = cpu_seconds(pids) - before, sum(tree_cpu_seconds(p) for p in postgres) - pg_before
    return Sample(
        result["requests"],
        result["seconds"],
        result["errors"],
        result["p50"],
        result["p99"],
        used,
        result["firstError"],
        pg_used,
    )


def data_of(server: Server, token: str, body: dict[str, Any]) -> str:
    response = httpx.post(
        f"http://127.0.0.1:{server.port}/graphql", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    payload = response.json()
    if "errors" in payload:
        return f"errors: {payload['errors']}"
    return json.dumps(payload["data"], separators=(",", ":"), ensure_ascii=False)


def shift_bodies(gateway: Server, token: str) -> list[dict[str, Any]]:
    found = httpx.post(
        f"http://127.0.0.1:{gateway.port}/graphql",
        json={
            "query": "{ organization { campaigns(first: 6, filter: {status: [ACTIVE]}) { edges { node { id } } } } }"
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    ).json()
    ids = [e["node"]["id"] for e in found["data"]["organization"]["campaigns"]["edges"]]
    # Cents move around a ring of campaigns, so the budgets stay where they were.
    return [
        {
            "query": SHIFT,
            "variables": {"i": {"fromCampaignId": ids[i], "toCampaignId": ids[(i + 1) % len(ids)], "amount": "0.01"}},
        }
        for i in range(len(ids))
    ]


def summarize(samples: list[Sample]) -> dict[str, float]:
    requests = sum(s.requests for s in samples)
    return {
        "rps": statistics.median(s.requests / s.seconds for s in samples),
        "p50": statistics.median(s.p50 for s in samples),
        "p99": statistics.median(s.p99 for s in samples),
        "cpu_ms": 1000 * sum(s.cpu_s for s in samples) / max(requests, 1),
        "pg_ms": 1000 * sum(s.pg_s for s in samples) / max(requests, 1),
        "errors": sum(s.errors for s in samples),
    }


def ratio(a: float, b: float) -> str:
    return f"{a / b:5.2f}" if b else "  -  "


# --- the run --------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> None:
    data_dir = Path(args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "logs").mkdir(exist_ok=True)
    pg_url, app_url, mongo_url, embedded = asyncio.run(prepare_stores(data_dir, MONGO_DB, seed_once=True))
    issuer = TestIssuer().start()
    servers: list[Server] = []
    try:
        servers = make_servers(args, data_dir, pg_url, app_url, mongo_url, issuer)
        for server in servers:
            server.start()
        for server in servers:
            server.wait_ready()
        token = issuer.token("acme", "admin", exp=int(time.time()) + 6 * 3600)
        scenarios = make_scenarios(servers, token, args.documents)
        print(f"\nworkers per server: {args.workers}; cores: {os.cpu_count()}; load: {load_average()}")
        check_data(servers, token, scenarios)
        connections = [int(c) for c in args.connections.split(",")]
        results = measure_rounds(servers, token, scenarios, connections, args, postgres_pids(embedded))
        print_results(servers, scenarios, connections, results)
        gateway = next((s for s in servers if s.name == "gateway"), None)
        if gateway is not None and args.catalog > 0:
            partner = issuer.token("globex", "owner", sub="bench-catalog", azp="bench-catalog", scope="catalog:write")
            compare_catalog(gateway.port, partner, pg_url, args.catalog)
        if gateway is not None and args.soak > 0:
            soak(gateway, token, scenarios, args.soak)
    finally:
        for server in servers:
            server.stop()
        issuer.stop()
        for item in reversed(embedded):
            item.stop()


def make_servers(
    args: argparse.Namespace, data_dir: Path, pg_url: str, app_url: str, mongo_url: str, issuer: TestIssuer
) -> list[Server]:
    logs = data_dir / "logs"
    env = {
        **os.environ,
        "DATABASE_URL": pg_url,
        "MONGO_URL": mongo_url,
        "MONGO_DB": MONGO_DB,
        "OIDC_ISSUER": issuer.url,
        "OIDC_AUDIENCE": AUDIENCE,
        "OMNIFY_HOST": "127.0.0.1",
        "OMNIFY_WORKERS": str(args.workers),
        "OMNIFY_LOG_LEVEL": "WARNING",
        # One organization's load on purpose: no fair share (bench/fairness.py measures that).
        "OMNIFY_RATE_LIMITS": "off",
        "OMNIFY_ADMISSION_PER_ORG": "10000",
        "OMNIFY_ADMISSION_PER_WORKER": "10000",
    }
    env.pop("PYTHONPATH", None)
    uvicorn = [sys.executable, "-m", "uvicorn", "--factory", "--workers", str(args.workers), "--port", "{port}"]
    uvicorn += ["--log-level", "warning", "--no-access-log"]
    wanted = set(args.only.split(","))
    servers = []
    if "gateway" in wanted:
        serve = [sys.executable, "-m", "gateway.ops.cli", "serve", "--workers", str(args.workers)]
        logins = {"DATABASE_URL": app_url, "DATABASE_SYSTEM_URL": system_url_of(app_url)}
        servers.append(Server("gateway", serve, ROOT, {**env, **logins}, logs / "gateway.log"))
    if "raw" in wanted:
        servers.append(
            Server("raw", [*uvicorn, "--app-dir", str(BENCH), "raw_server:app"], ROOT, env, logs / "raw.log")
        )
    if "previous" in wanted:
        previous = previous_checkout(args.baseline, data_dir)
        print(f"previous: {args.baseline} from {previous}")
        # The same restricted login as this checkout's gateway: gateways since the login check
        # refuse to serve as the owner.
        previous_env = {
            **env,
            "DATABASE_URL": app_url,
            "DATABASE_SYSTEM_URL": system_url_of(app_url),
            "PYTHONPATH": str(previous),
        }
        servers.append(
            Server("previous", [*uvicorn, "previous_app:app"], previous, previous_env, logs / "previous.log")
        )
    if "pg5" in wanted:
        node = pg5.prepare(pg_url)
        pg5_env = {**env, "WORKERS": str(args.workers), "POOL_MAX": "20", "GRAPHILE_ENV": "production"}
        servers.append(Server("pg5", [node, "server.mjs"], pg5.HERE, pg5_env, logs / "pg5.log"))
    return servers


def make_scenarios(servers: list[Server], token: str, documents: str) -> list[Scenario]:
    today = dt.datetime.now(dt.UTC).date()
    window = {"from": str(today - dt.timedelta(days=29)), "to": str(today)}
    org = {"org": str(ACME)}
    scenarios = [
        Scenario("campaigns 50x20", [{"query": CAMPAIGNS}], pg5_bodies=[{"query": pg5.CAMPAIGNS, "variables": org}]),
        Scenario(
            "campaigns+totals 50x20",
            [{"query": CAMPAIGNS_TOTALS, "variables": window}],
            pg5_bodies=[{"query": pg5.CAMPAIGNS_TOTALS, "variables": {**org, **window}}],
        ),
        Scenario("dashboard n=5 m=5", [{"query": DASHBOARD, "variables": {"n": 5, "m": 5, **window}}]),
        Scenario("dashboard n=50 m=20", [{"query": DASHBOARD, "variables": {"n": 50, "m": 20, **window}}]),
    ]
    # shiftBudget's campaigns are found through a gateway's API.
    finder = next((s for s in servers if s.name in ("gateway", "previous")), None)
    if finder is not None:
        scenarios.append(Scenario("shiftBudget", shift_bodies(finder, token), compare=False))
    if documents:
        scenarios = [s for s in scenarios if any(w in s.name for w in documents.split(","))]
    return scenarios


def check_data(servers: list[Server], token: str, scenarios: list[Scenario]) -> None:
    """Prints whether each server answers each document like the first one.

    The Python servers must give identical `data`; PostGraphile, whose `data` has
    another shape, the same rows: campaign ids in order, each one's creative ids in
    order, and with totals each one's spend.
    """
    print("data identical to the first server's (parsed and re-encoded, key order kept; pg5: the same rows):")
    for scenario in scenarios:
        if not scenario.compare:
            continue
        reference = data_of(servers[0], token, scenario.bodies[0])
        for server in servers[1:]:
            bodies = scenario.bodies_for(server)
            if bodies is None:
                continue
            if server.name == "pg5":
                mine, theirs = pg5.rows_of_gateway(reference), pg5.rows_of_pg5(data_of(server, token, bodies[0]))
                same = "yes" if mine == theirs else "NO"
                print(f"  {scenario.name:<22} {server.name:<9} {same} ({pg5.describe(theirs)})")
                continue
            other = data_of(server, token, bodies[0])
            same = "yes" if other == reference else "NO"
            print(f"  {scenario.name:<22} {server.name:<9} {same} ({len(reference):,} bytes)")
            if other != reference:
                print(f"    {servers[0].name}: {reference[:400]}\n    {server.name}: {other[:400]}")


def measure_rounds(
    servers: list[Server],
    token: str,
    scenarios: list[Scenario],
    connections: list[int],
    args: argparse.Namespace,
    postgres: Callable[[], list[int]],
) -> dict[tuple[str, int, str], list[Sample]]:
    """Every (scenario, connections) on each server in turn, the servers' order rotating between rounds."""
    for server in servers:  # warm-up: imports, caches, and pools as large as the measurements make them
        for scenario in scenarios:
            bodies = scenario.bodies_for(server)
            if bodies is not None:
                load(server.port, token, bodies, max(4, *connections), 1.0)
    results: dict[tuple[str, int, str], list[Sample]] = {}
    for round_ in range(args.rounds):
        order = servers[round_ % len(servers) :] + servers[: round_ % len(servers)]
        for scenario in scenarios:
            for conns in connections:
                for server in order:
                    bodies = scenario.bodies_for(server)
                    if bodies is None:
                        continue
                    sample = measure(server, token, bodies, conns, args.seconds, postgres())
                    results.setdefault((scenario.name, conns, server.name), []).append(sample)
                    if sample.first_error:
                        print(f"  {server.name} {scenario.name} c={conns}: {sample.first_error[:300]}")
        print(f"round {round_ + 1}/{args.rounds} done (load {load_average()})")
    return results


def print_results(
    servers: list[Server],
    scenarios: list[Scenario],
    connections: list[int],
    results: dict[tuple[str, int, str], list[Sample]],
) -> None:
    print(
        f"\n{'document':<22} {'conns':>5} {'server':<9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'CPU ms/req':>10} {'PG ms/req':>9} {'errors':>6}   ratios (req/s, CPU) gateway/raw, gateway/previous, gateway/pg5"
    )
    for scenario in scenarios:
        for conns in connections:
            summary = {
                s.name: summarize(results[key]) for s in servers if (key := (scenario.name, conns, s.name)) in results
            }
            for n, s in summary.items():
                extra = ""
                if n == "gateway":
                    parts = []
                    for other in ("raw", "previous", "pg5"):
                        if other in summary:
                            o = summary[other]
                            parts.append(f"{other}: {ratio(s['rps'], o['rps'])} {ratio(s['cpu_ms'], o['cpu_ms'])}")
                    extra = "   " + "; ".join(parts)
                print(
                    f"{scenario.name:<22} {conns:>5} {n:<9} {s['rps']:>8.1f} {s['p50']:>8.1f} {s['p99']:>8.1f} "
                    f"{s['cpu_ms']:>10.1f} {s['pg_ms']:>9.1f} {s['errors']:>6}{extra}"
                )
    print("\nRSS per worker (MiB) after the runs:")
    for server in servers:
        print(f"  {server.name:<9} " + ", ".join(f"{rss_mib(p):.0f}" for p in server.workers()))


def postgres_pids(embedded: list[Any]) -> Callable[[], list[int]]:
    """The embedded PostgreSQL's postmaster (its tree is what `tree_cpu_seconds` counts); none for a server given by URL."""
    pgdata = next((e.pgdata for e in embedded if hasattr(e, "pgdata")), None)

    def pids() -> list[int]:
        if pgdata is None:
            return []
        return [int((pgdata / "postmaster.pid").read_text().split()[0])]

    return pids


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def soak(gateway: Server, token: str, scenarios: list[Scenario], seconds: float) -> None:
    print(f"\nsoak: gateway, 64 connections, {seconds:.0f} s, the three read documents in turn")
    bodies = [b for s in scenarios if s.compare for b in s.bodies]
    spec = {"path": "/graphql", "headers": {"Authorization": f"Bearer {token}"}, "bodies": bodies}
    workers = gateway.workers()
    proc = subprocess.Popen(
        [sys.executable, str(BENCH / "loadgen.py"), str(gateway.port), "64", str(seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(spec).encode())
    proc.stdin.close()
    started = time.monotonic()
    print(f"  {'t s':>5}  RSS MiB per worker ({', '.join(str(p) for p in workers)})")
    while proc.poll() is None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        print(f"  {time.monotonic() - started:5.0f}  " + ", ".join(f"{rss_mib(p):.0f}" for p in workers))
    result = json.loads(proc.stdout.read())
    print(
        f"  requests {result['requests']}, {result['requests'] / result['seconds']:.1f} req/s, "
        f"p50 {result['p50']} ms, p99 {result['p99']} ms, max {result['max']} ms, errors {result['errors']}"
    )
    if result["firstError"]:
        print(f"  first error: {result['firstError'][:300]}")
    # Each worker's collector statistics, from /healthz on fresh connections until every worker answered.
    seen: dict[int, dict[str, Any]] = {}
    for _ in range(200):
        if len(seen) >= len(workers):
            break
        body = httpx.get(f"http://127.0.0.1:{gateway.port}/healthz", timeout=5).json()
        seen[body["pid"]] = body.get("gc", {})
    for pid, stats in sorted(seen.items()):
        print(f"  worker {pid} gc: {json.dumps(stats)}")


def main() -> None:
    from gateway.core.config import available_cores

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=available_cores())
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--connections", default="1,32")
    parser.add_argument("--baseline", default="HEAD~1", help="git ref of the previous gateway")
    parser.add_argument("--only", default="gateway,raw,previous", help="servers, of gateway,raw,previous,pg5")
    parser.add_argument("--documents", default="", help="comma-separated parts of document names (default: all)")
    parser.add_argument("--catalog", type=int, default=5, help="rounds of the catalog upsert (0: skip)")
    parser.add_argument("--soak", type=float, default=60.0, help="seconds at 64 connections (0: skip)")
    parser.add_argument("--data-dir", default=str(ROOT / ".omnify-bench"))
    parser.add_argument("--fresh", action="store_true", help="drop the data dir first (reseed)")
    args = parser.parse_args()
    if args.fresh:
        shutil.rmtree(args.data_dir, ignore_errors=True)
    run(args)


if __name__ == "__main__":
    main()
