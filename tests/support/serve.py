"""`omnify-gateway serve` as a real process (supervisor and workers), on the suite's stores and issuer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from gateway.ops.embedded import free_port
from tests.support.issuer import AUDIENCE, TestIssuer

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "gateway.ops.cli"]


def serve_environment(
    database_url: str, system_url: str, mongo_url: str, mongo_db: str, issuer: TestIssuer
) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATABASE_SYSTEM_URL": system_url,
        "MONGO_URL": mongo_url,
        "MONGO_DB": mongo_db,
        "OIDC_ISSUER": issuer.url,
        "OIDC_AUDIENCE": AUDIENCE,
        "OMNIFY_HOST": "127.0.0.1",
    }


class ServeProcess:
    def __init__(self, env: dict[str, str], workers: int, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "OMNIFY_PORT": str(self.port)}
        self.workers = workers
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServeProcess:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*CLI, "serve", "--workers", str(self.workers)], env=self.env, stdout=out, stderr=out, cwd=ROOT
            )
        return self

    def wait_ready(self, timeout_s: float = 180) -> ServeProcess:
        """Until every worker has started (a busy machine starts them slowly) and /readyz says 200."""
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        while True:
            assert self.process.poll() is None, f"serve exited early:\n{self.log.read_text()[-3000:]}"
            try:
                if (
                    len(self.worker_pids()) == self.workers
                    and httpx.get(f"{self.url}/readyz", timeout=10).status_code == 200
                ):
                    return self
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"serve not ready:\n{self.log.read_text()[-3000:]}"
            time.sleep(0.2)

    def worker_pids(self) -> set[int]:
        """The supervisor's live worker processes (not multiprocessing's resource tracker)."""
        assert self.process is not None
        workers: set[int] = set()
        for task in Path(f"/proc/{self.process.pid}/task").glob("*"):
            try:
                children = [int(pid) for pid in (task / "children").read_text().split()]
                workers.update(c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes())
            except OSError:
                continue  # a process that just exited
        return workers

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
