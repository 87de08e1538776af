"""Benchmark: many concurrent subscribers on one gateway process.

    .venv/bin/python bench/subscriptions.py [--subscribers 1000] [--rounds 10]

Starts embedded PostgreSQL and MongoDB-wire servers in a temporary directory
(or uses BENCH_DATABASE_URL / BENCH_MONGO_URL), seeds the demo data, runs the
gateway in a child process and connects the WebSocket clients from this one,
each with one `actionLogged` subscription. Prints the gateway's memory per
connection (RSS growth / connections) and the fan-out latency of one
`shiftBudget` to all subscribers: from the mutation's answer (its commit) to
each client's receipt, over `--rounds` events. The clients share one event
loop, so the tail includes the time this process needs to read 1,000
messages. Nothing here asserts: the numbers are for reading and comparing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_stores import prepare_stores, system_url_of

from gateway.ops.dev_issuer import DevIssuer
from gateway.ops.embedded import free_port

SUBSCRIPTION = "subscription { actionLogged(filter: {action: [SHIFT_BUDGET]}) { id action payload } }"
SHIFT = "mutation($i: ShiftBudgetInput!) { shiftBudget(input: $i) { userErrors { code } } }"


def serve(config: dict[str, Any]) -> None:
    """The child: one gateway (dev mode, dev issuer mounted) on the given port."""
    import uvicorn

    from gateway.core.config import IssuerConfig, Settings
    from gateway.http.app import create_app
    from gateway.ops.dev_issuer import AUDIENCE

    issuer = DevIssuer.load(Path(config["data_dir"]), config["issuer"])
    settings = Settings(
        mode="dev",
        mongo_url=config["mongo_url"],
        database_url=config["database_url"],
        database_system_url=system_url_of(config["database_url"]),
        mongo_db="omnify_bench",
        issuers=(IssuerConfig(issuer=issuer.issuer, audience=AUDIENCE),),
        port=config["port"],
        ws_max_connections_per_principal=config["subscribers"] + 10,
        ws_ping_interval_s=60.0,
        # All the clients come from this one address, 50 connecting at a time.
        ws_max_unauthenticated_per_address=64,
    )
    uvicorn.run(
        create_app(settings, extra_routes=issuer.routes()), port=config["port"], log_level="warning", ws_max_queue=32
    )


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def pick(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class Subscriber:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.received: list[float] = []
        self.got = asyncio.Event()

    async def read(self) -> None:
        async for raw in self.ws:
            message = orjson.loads(raw)
            if message["type"] == "next":
                self.received.append(time.perf_counter())
                self.got.set()
            elif message["type"] == "ping":
                await self.ws.send('{"type":"pong"}')


async def subscribe(url: str, token: str) -> Subscriber:
    ws = await connect(url, subprotocols=["graphql-transport-ws"], open_timeout=60, max_queue=64)  # type: ignore[list-item]
    await ws.send(orjson.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}).decode())
    ack = orjson.loads(await ws.recv())
    assert ack["type"] == "connection_ack", ack
    await ws.send(orjson.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}).decode())
    return Subscriber(ws)


async def gauge(http: httpx.AsyncClient, name: str) -> float:
    for line in (await http.get("/metrics")).text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    return 0.0


async def main(args: argparse.Namespace) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="omnify-bench-ws-"))
    _, app_url, mongo_url, embedded = await prepare_stores(data_dir, "omnify_bench")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = {
        "data_dir": str(data_dir),
        "issuer": f"{base}/dev-issuer",
        "mongo_url": mongo_url,
        "database_url": app_url,
        "port": port,
        "subscribers": args.subscribers,
    }
    issuer = DevIssuer.load(data_dir, config["issuer"])
    child = await asyncio.create_subprocess_exec(sys.executable, __file__, "--serve", json.dumps(config))
    subscribers: list[Subscriber] = []
    readers: list[asyncio.Task[None]] = []
    try:
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the gateway did not start")
                await asyncio.sleep(0.2)
            admin = issuer.mint(org="acme", role="admin")
            viewer = issuer.mint(org="acme", role="viewer")
            ids = (
                await http.post(
                    "/graphql",
                    json={
                        "query": "{ organization { campaigns(first: 2, filter: {status: [ACTIVE]}) { edges { node { id } } } } }"
                    },
                    headers={"Authorization": f"Bearer {admin}"},
                )
            ).json()
            pair = [e["node"]["id"] for e in ids["data"]["organization"]["campaigns"]["edges"]]

            async def shift(n: int) -> float:
                body = {
                    "query": SHIFT,
                    "variables": {
                        "i": {"fromCampaignId": pair[n % 2], "toCampaignId": pair[(n + 1) % 2], "amount": "0.01"}
                    },
                }
                response = await http.post("/graphql", json=body, headers={"Authorization": f"Bearer {admin}"})
                answered = time.perf_counter()
                assert response.json()["data"]["shiftBudget"]["userErrors"] == [], response.text
                return answered

            # Warm up: one subscriber and one event, so code paths and caches exist before measuring.
            warm = await subscribe(f"ws://127.0.0.1:{port}/graphql", viewer)
            warm_reader = asyncio.create_task(warm.read())
            await asyncio.sleep(0.5)
            await shift(0)
            await asyncio.wait_for(warm.got.wait(), 30)
            await asyncio.sleep(1.0)
            before = rss_kib(child.pid)

            started = time.perf_counter()
            semaphore = asyncio.Semaphore(50)

            async def one() -> Subscriber:
                async with semaphore:
                    return await subscribe(f"ws://127.0.0.1:{port}/graphql", viewer)

            subscribers = list(await asyncio.gather(*(one() for _ in range(args.subscribers))))
            readers = [asyncio.create_task(s.read()) for s in subscribers]
            for _ in range(1200):
                if await gauge(http, "omnify_ws_subscriptions") >= args.subscribers + 1:
                    break
                await asyncio.sleep(0.1)
            connect_s = time.perf_counter() - started
            await asyncio.sleep(1.0)
            after = rss_kib(child.pid)

            latencies: list[float] = []
            last: list[float] = []
            for n in range(args.rounds):
                for s in subscribers:
                    s.received.clear()
                    s.got.clear()
                answered = await shift(n + 1)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.gather(*(s.got.wait() for s in subscribers)), 30)
                arrivals = [s.received[0] - answered for s in subscribers if s.received]
                latencies += arrivals
                last.append(max(arrivals))
                await asyncio.sleep(0.3)
            missing = args.rounds * args.subscribers - len(latencies)
            delivered = await gauge(http, "omnify_ws_events_delivered_total")

        print(f"subscribers: {args.subscribers} (connected and subscribed in {connect_s:.1f} s)")
        print(
            f"gateway RSS: {before / 1024:.1f} MiB before, {after / 1024:.1f} MiB after; "
            f"{(after - before) / args.subscribers:.1f} KiB per connection (one subscription each)"
        )
        print(
            f"fan-out of one event to all, from the mutation's answer, over {args.rounds} events: "
            f"p50 {pick(latencies, 0.5):.1f} ms  p99 {pick(latencies, 0.99):.1f} ms  "
            f"last subscriber (median over events) {sorted(last)[len(last) // 2] * 1000:.1f} ms"
        )
        print(f"events received: {len(latencies)}, missing: {missing}; delivered by the gateway: {delivered:.0f}")
        warm_reader.cancel()
    finally:
        for task in readers:
            task.cancel()
        await asyncio.gather(*(s.ws.close() for s in subscribers), return_exceptions=True)
        child.terminate()
        await asyncio.wait_for(child.wait(), 30)
        for item in reversed(embedded):
            item.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve:
        serve(json.loads(arguments.serve))
    else:
        asyncio.run(main(arguments))
