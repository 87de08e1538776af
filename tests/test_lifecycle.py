"""`serve` as a whole: workers on their own sockets, one /metrics for all of them, and a graceful SIGTERM.

The requests kept in flight are real documents held back by PostgreSQL itself: the test
takes a lock on the table they read, and releases it when it wants them to finish.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest

from gateway.http.app import create_app
from gateway.ops.embedded import free_port
from gateway.ops.serve import refuse_busy_port
from tests.conftest import Stores, gateway_settings
from tests.support.issuer import AUDIENCE, TestIssuer
from tests.support.servers import ServerThread
from tests.test_subscriptions import ACTIONS, settle
from tests.test_subscriptions import socket as ws_client

ROOT = Path(__file__).resolve().parents[1]
CAMPAIGNS = (ROOT / "bench" / "campaigns.graphql").read_text()
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ([-+0-9.eEinfINFNa]+)$", re.MULTILINE)


class Serve:
    """A real `omnify-gateway serve` subprocess; its log is kept for the assertion messages."""

    def __init__(self, stores: Stores, issuer: TestIssuer, workers: int, **extra: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL": stores.app_url,
            "DATABASE_SYSTEM_URL": stores.system_url,
            "MONGO_URL": stores.mongo_url,
            "MONGO_DB": stores.mongo_db,
            "OIDC_ISSUER": issuer.url,
            "OIDC_AUDIENCE": AUDIENCE,
            "OMNIFY_HOST": "127.0.0.1",
            "OMNIFY_PORT": str(self.port),
            "OMNIFY_RATE_LIMITS": "off",
            **extra,
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.ops.cli", "serve", "--workers", str(workers)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.output: list[bytes] = []
        self._reader = threading.Thread(target=lambda: self.output.extend(self.proc.stdout or ()), daemon=True)
        self._reader.start()

    def log(self) -> str:
        return b"".join(self.output).decode(errors="replace")[-4000:]

    def workers(self, count: int) -> dict[int, int]:
        """{pid: GraphQL requests answered} of every worker, asked over fresh connections until `count` answered."""
        seen: dict[int, int] = {}
        deadline = time.monotonic() + 180
        while len(seen) < count:
            assert self.proc.poll() is None, f"serve exited:\n{self.log()}"
            assert time.monotonic() < deadline, f"workers answering: {seen}\n{self.log()}"
            try:
                with httpx.Client(base_url=self.base, timeout=10) as http:
                    health = http.get("/healthz").json()
                seen[health["pid"]] = health["requests"]
            except httpx.TransportError:
                time.sleep(0.2)  # still starting
        return seen

    def scrape(self) -> dict[str, float]:
        """One /metrics scrape over a fresh connection: {sample with its labels: value}."""
        with httpx.Client(base_url=self.base, timeout=30) as http:
            text = http.get("/metrics").text
        return {name + (labels or ""): float(value) for name, labels, value in SAMPLE.findall(text)}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=10)


@contextmanager
def serving(stores: Stores, issuer: TestIssuer, workers: int, **extra: str) -> Iterator[Serve]:
    serve = Serve(stores, issuer, workers, **extra)
    try:
        yield serve
    finally:
        serve.stop()


def total(samples: dict[str, float], name: str) -> float:
    return sum(value for key, value in samples.items() if key == name or key.startswith(name + "{"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_one_scrape_reports_every_worker(seeded: Stores, issuer: TestIssuer) -> None:
    sent = 40
    with serving(seeded, issuer, 2, OMNIFY_PG_POOL_MAX="5") as serve:
        serve.workers(2)
        headers = {"Authorization": f"Bearer {issuer.token()}"}
        for _ in range(sent):
            # A fresh connection each: the kernel spreads connections over the workers' sockets.
            with httpx.Client(base_url=serve.base, timeout=30) as http:
                body = http.post("/graphql", json={"query": "{ organization { slug } }"}, headers=headers).json()
            assert body["data"]["organization"]["slug"] == "acme", body
        split = serve.workers(2)
        assert sum(split.values()) == sent and all(split.values()), split  # both workers answered some
        for _ in range(6):
            samples = serve.scrape()
            assert total(samples, "omnify_graphql_requests_total") == sent, samples
            assert total(samples, "omnify_graphql_request_seconds_count") == sent
        # What is read from live objects adds up too (each worker copies it into the files every second).
        deadline = time.monotonic() + 60
        while serve.scrape().get('omnify_pg_pool_connections{state="max"}') != 10.0:
            assert time.monotonic() < deadline, serve.scrape()
            time.sleep(0.5)
        samples = serve.scrape()
        assert samples['omnify_store_circuit_open{store="postgres"}'] == 0.0
        assert "omnify_admission_in_flight" in samples and "omnify_ws_connections" in samples


@pytest.mark.slow
def test_serve_refuses_a_port_in_use(seeded: Stores, issuer: TestIssuer) -> None:
    with serving(seeded, issuer, 1) as first:
        first.workers(1)
        with pytest.raises(Exception, match="cannot listen on"):
            refuse_busy_port("127.0.0.1", first.port)
        env = {**os.environ, "OMNIFY_PORT": str(first.port), "OMNIFY_HOST": "127.0.0.1"}
        env.update(
            DATABASE_URL=seeded.app_url,
            DATABASE_SYSTEM_URL=seeded.system_url,
            MONGO_URL=seeded.mongo_url,
            OIDC_ISSUER=issuer.url,
            OIDC_AUDIENCE=AUDIENCE,
        )
        clash = subprocess.run(
            [sys.executable, "-m", "gateway.ops.cli", "serve", "--workers", "1"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert clash.returncode == 2 and f"cannot listen on 127.0.0.1:{first.port}" in clash.stderr, clash.stderr
        # The first one serves on, alone on its port.
        assert len(first.workers(1)) == 1


def _in_flight(serve: Serve) -> float:
    samples = serve.scrape()
    return total(samples, "omnify_admission_in_flight") + total(samples, "omnify_admission_waiting")


def _refused(base: str) -> bool:
    try:
        with httpx.Client(base_url=base, timeout=10) as http:
            http.get("/healthz")
    except httpx.ConnectError:
        return True
    except httpx.TransportError:
        return False  # accepted, then cut: not refused
    return False


async def _held_campaigns(serve: Serve, token: str, count: int) -> list[asyncio.Task[httpx.Response]]:
    """`count` requests of the campaigns document, started now and held in flight by the table lock."""
    http = httpx.AsyncClient(
        base_url=serve.base, timeout=300, limits=httpx.Limits(max_connections=count, max_keepalive_connections=0)
    )
    headers = {"Authorization": f"Bearer {token}"}

    async def one() -> httpx.Response:
        return await http.post("/graphql", json={"query": CAMPAIGNS}, headers=headers)

    tasks = [asyncio.create_task(one()) for _ in range(count)]
    closer = asyncio.create_task(asyncio.wait(tasks))
    closer.add_done_callback(lambda _: asyncio.ensure_future(http.aclose()))
    deadline = time.monotonic() + 180
    while await asyncio.to_thread(_in_flight, serve) < count:
        assert not any(t.done() for t in tasks), [t.result().text[:300] for t in tasks if t.done()]
        assert time.monotonic() < deadline, f"not all {count} requests reached the workers\n{serve.log()}"
        await asyncio.sleep(0.5)
    return tasks


# Generous limits: the lock holds the requests, not the gateway's own queues and timeouts.
HOLD = {
    "OMNIFY_REQUEST_TIMEOUT_S": "300",
    "OMNIFY_ADMISSION_WAIT_S": "250",
    "OMNIFY_ADMISSION_PER_ORG": "64",
    "OMNIFY_ADMISSION_PER_WORKER": "64",
}


@pytest.mark.slow
async def test_sigterm_finishes_requests_in_flight_and_refuses_new_ones(seeded: Stores, issuer: TestIssuer) -> None:
    grace = 240
    with serving(seeded, issuer, 2, OMNIFY_SHUTDOWN_GRACE_S=str(grace), **HOLD) as serve:
        pids = set(await asyncio.to_thread(serve.workers, 2))
        lock = await asyncpg.connect(seeded.database_url)
        try:
            async with ws_client(serve.base, issuer.token("initech", "viewer")) as subscriber:
                await subscriber.subscribe("1", ACTIONS)
                await settle()
                transaction = lock.transaction()
                await transaction.start()
                await lock.execute("LOCK TABLE campaigns IN ACCESS EXCLUSIVE MODE")
                held = await _held_campaigns(serve, issuer.token(), 50)

                serve.proc.send_signal(signal.SIGTERM)
                code, _ = await subscriber.closed(within=120)
                assert code == 1001
                deadline = time.monotonic() + 120
                while not await asyncio.to_thread(_refused, serve.base):
                    assert time.monotonic() < deadline, "new connections still accepted after SIGTERM"
                    await asyncio.sleep(0.2)
                # Still held by the lock: nothing was cut.
                assert not any(t.done() for t in held)
                assert serve.proc.poll() is None
                await transaction.rollback()
                responses = await asyncio.gather(*held)
        finally:
            await lock.close()
        assert [r.status_code for r in responses] == [200] * 50
        assert all("errors" not in r.json() and r.json()["data"]["organization"] for r in responses)
        assert await asyncio.to_thread(serve.proc.wait, grace + 60) == 0, serve.log()
    assert not any(_alive(pid) for pid in pids)
    assert "did not stop within" not in serve.log()


@pytest.mark.slow
async def test_sigterm_cuts_requests_still_running_at_the_deadline(seeded: Stores, issuer: TestIssuer) -> None:
    with serving(seeded, issuer, 2, OMNIFY_SHUTDOWN_GRACE_S="2", **HOLD) as serve:
        pids = set(await asyncio.to_thread(serve.workers, 2))
        lock = await asyncpg.connect(seeded.database_url)
        try:
            async with lock.transaction():
                await lock.execute("LOCK TABLE campaigns IN ACCESS EXCLUSIVE MODE")
                held = await _held_campaigns(serve, issuer.token(), 10)
                serve.proc.send_signal(signal.SIGTERM)
                # The process ends although the lock still holds the requests.
                assert await asyncio.to_thread(serve.proc.wait, 120) == 0, serve.log()
                outcomes = await asyncio.gather(*held, return_exceptions=True)
        finally:
            await lock.close()
        assert not any(isinstance(o, httpx.Response) and o.status_code == 200 for o in outcomes), outcomes
        assert "timeout graceful shutdown exceeded" in serve.log()
    assert not any(_alive(pid) for pid in pids)


def test_the_port_check_names_the_address() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(Exception, match=f"cannot listen on 127.0.0.1:{port}"):
            refuse_busy_port("127.0.0.1", port)
    refuse_busy_port("127.0.0.1", port)  # free again


async def test_a_draining_gateway_is_unready_and_closes_its_sockets_going_away(
    seeded: Stores, issuer: TestIssuer
) -> None:
    """What the server calls first on SIGTERM, run on a live gateway's own loop."""
    app = create_app(gateway_settings(seeded, issuer))
    server = ServerThread(app).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            assert (await http.get("/readyz")).status_code == 200
            async with ws_client(server.url, issuer.token("initech", "viewer")) as subscriber:
                await subscriber.subscribe("1", ACTIONS)
                await settle()
                loop = server.server.servers[0].get_loop()
                drained = asyncio.run_coroutine_threadsafe(app.state.begin_shutdown(), loop)
                code, reason = await subscriber.closed(within=60)
                await asyncio.wrap_future(drained)
            assert code == 1001 and "shutting down" in reason
            ready = await http.get("/readyz")
            assert ready.status_code == 503 and ready.json() == {"status": "draining"}
            assert (await http.get("/healthz")).status_code == 200  # alive, only not taking new work
        with pytest.raises(Exception):  # noqa: B017 - refused at the handshake, whatever the client calls it
            async with ws_client(server.url, issuer.token("initech", "viewer")):
                pass
    finally:
        server.stop()
