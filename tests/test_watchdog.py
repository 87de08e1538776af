"""The event loop watchdog: a real loop blocked by a callback, and a real `serve` whose stalled worker is replaced."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from gateway.core.runtime import EXIT_STALLED, LoopWatchdog
from gateway.ops.embedded import free_port
from tests.conftest import Stores
from tests.support.issuer import AUDIENCE, TestIssuer

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "gateway.ops.cli"]
DEADLINE_S = 60  # for "eventually": the machine may be busy


def run_loop_with(watchdog: LoopWatchdog, block: threading.Event, until: threading.Event) -> None:
    """Run a fresh event loop whose one callback sleeps until `block` is cleared by the test's condition."""
    loop = asyncio.new_event_loop()

    def blocking_callback() -> None:
        deadline = time.monotonic() + DEADLINE_S
        while block.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)  # the loop turns no more while this runs

    async def main() -> None:
        watchdog.start(asyncio.get_running_loop())
        await asyncio.sleep(0.3)  # a few beats on time first
        asyncio.get_running_loop().call_soon(blocking_callback)
        await asyncio.get_running_loop().run_in_executor(None, until.wait, DEADLINE_S)
        await asyncio.sleep(0.3)  # the beat after the block is recorded
        watchdog.stop()

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


def test_a_blocked_loop_is_reported_then_the_worker_exits(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="omnify.runtime")
    exits: list[int] = []
    warnings: list[bool] = []
    blocks: list[float] = []
    done = threading.Event()
    block = threading.Event()
    block.set()

    def exit_process(code: int) -> None:  # injected in place of os._exit
        exits.append(code)
        block.clear()  # the "new worker" would start here; let the loop go so the test can end
        done.set()

    watchdog = LoopWatchdog(
        0.2, 0.6, on_stall=exit_process, on_warn=lambda: warnings.append(True), on_block=blocks.append
    )
    run_loop_with(watchdog, block, done)

    assert exits == [EXIT_STALLED]
    assert warnings == [True] and watchdog.blocks == 1
    assert watchdog.stalled and watchdog.as_dict()["stalled"] is True
    # The block's length is recorded once the loop turns again (it lasted at least until the kill threshold).
    assert len(blocks) == 1 and blocks[0] >= 0.6 and watchdog.longest_s >= 0.6
    warning = [r for r in caplog.records if r.levelno == logging.WARNING]
    error = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert warning and "blocked" in warning[0].getMessage() and "blocking_callback" in warning[0].getMessage()
    assert error and "ending this worker" in error[0].getMessage()


def test_without_a_supervisor_the_process_reports_itself_stalled(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="omnify.runtime")
    done = threading.Event()
    block = threading.Event()
    block.set()
    watchdog = LoopWatchdog(0.2, 0.5)  # no on_stall, as in `dev`

    def release_when_stalled() -> None:
        deadline = time.monotonic() + DEADLINE_S
        while not watchdog.stalled and time.monotonic() < deadline:
            time.sleep(0.02)
        block.clear()
        done.set()

    threading.Thread(target=release_when_stalled, daemon=True).start()
    run_loop_with(watchdog, block, done)

    assert watchdog.stalled and watchdog.blocks == 1
    assert any("serves no one until it ends" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
    assert watchdog.as_dict()["lastBlockMs"] >= 500


def test_a_short_block_only_warns(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="omnify.runtime")
    exits: list[int] = []
    done = threading.Event()
    block = threading.Event()
    block.set()
    watchdog = LoopWatchdog(0.2, DEADLINE_S * 2, on_stall=exits.append)

    def release_after_warning() -> None:
        deadline = time.monotonic() + DEADLINE_S
        while watchdog.blocks == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        block.clear()
        done.set()

    threading.Thread(target=release_after_warning, daemon=True).start()
    run_loop_with(watchdog, block, done)

    assert exits == [] and not watchdog.stalled and watchdog.blocks == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.slow
def test_serve_replaces_a_single_worker_whose_loop_stalled(seeded: Stores, issuer: TestIssuer) -> None:
    """`serve --workers 1` runs under uvicorn's supervisor: a worker that ends on a stall is replaced.

    No debug hook blocks the loop: the limits are raised by configuration until parsing one
    document takes seconds (400,000 tokens), past a kill threshold of one second.
    """
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": seeded.app_url,
        "DATABASE_SYSTEM_URL": seeded.system_url,
        "MONGO_URL": seeded.mongo_url,
        "MONGO_DB": seeded.mongo_db,
        "OIDC_ISSUER": issuer.url,
        "OIDC_AUDIENCE": AUDIENCE,
        "OMNIFY_HOST": "127.0.0.1",
        "OMNIFY_PORT": str(port),
        "OMNIFY_LOOP_WARN_S": "0.3",
        "OMNIFY_LOOP_KILL_S": "1",
        "OMNIFY_MAX_TOKENS": "1000000",
        "OMNIFY_MAX_DOCUMENT_CHARS": "5000000",
        "OMNIFY_DOCUMENT_BUDGET_MS": "600000",
    }
    proc = subprocess.Popen(
        [*CLI, "serve", "--workers", "1"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT
    )
    stderr: list[bytes] = []
    reader = threading.Thread(target=lambda: stderr.extend(proc.stderr or ()), daemon=True)
    reader.start()
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {issuer.token()}"}
    try:
        first = _healthy_pid(proc, base)
        assert first != proc.pid  # a worker process, under the supervisor
        heavy = "{ " + "__typename " * 400_000 + "}"
        with httpx.Client(base_url=base, timeout=DEADLINE_S) as http:
            try:
                response = http.post("/graphql", json={"query": heavy}, headers=headers)
                answered: int | None = response.status_code
            except httpx.TransportError:
                answered = None  # the worker ended with the request in hand
        assert answered is None, "the stalled worker answered instead of being replaced"
        second = _healthy_pid(proc, base)
        assert second != first
        with httpx.Client(base_url=base, timeout=30) as http:
            body = http.post("/graphql", json={"query": "{ organization { slug } }"}, headers=headers).json()
            assert body["data"]["organization"]["slug"] == "acme", body
            assert http.get("/healthz").json()["loop"]["stalled"] is False
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        reader.join(timeout=10)
    log = b"".join(stderr).decode(errors="replace")
    assert "the event loop has been blocked" in log and "ending this worker" in log, log[-3000:]
    assert proc.returncode == 0


def _healthy_pid(proc: subprocess.Popen[bytes], base: str) -> int:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert proc.poll() is None, "serve exited"
        try:
            with httpx.Client(base_url=base, timeout=10) as http:
                response = http.get("/healthz")
            if response.status_code == 200:
                pid: int = response.json()["pid"]
                return pid
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("no worker answered /healthz")
