"""A real Redis for the tests: `redis-server` in a temporary directory, or OMNIFY_TEST_REDIS_URL behind a proxy.

Either way the tests can stop it, start it again on the same address, and hang it
(SIGSTOP, or a proxy that holds the bytes back). The suite owns that Redis
database: it is flushed before use.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

import redis

from gateway.ops.embedded import free_port
from tests.support.proxy import TcpProxy


class RedisUnavailable(Exception):
    """Neither a `redis-server` binary nor OMNIFY_TEST_REDIS_URL: the tests that need Redis skip."""


class RedisServer:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.proxy: TcpProxy | None = None
        given = os.environ.get("OMNIFY_TEST_REDIS_URL")
        if given:
            parsed = urlparse(given)
            self.proxy = TcpProxy(parsed.hostname or "127.0.0.1", parsed.port or 6379)
            auth = f"{parsed.username or ''}:{parsed.password}@" if parsed.password else ""
            self.url = f"redis://{auth}127.0.0.1:{self.proxy.port}{parsed.path or '/0'}"
            return
        binary = shutil.which("redis-server")
        if binary is None:
            raise RedisUnavailable(
                "no redis-server on PATH (scripts/setup installs Debian's redis-server) and OMNIFY_TEST_REDIS_URL is not set"
            )
        self.binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        if self.proxy is not None:
            self.proxy.start()
        else:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            command += ["--dir", str(self.data_dir), "--protected-mode", "no"]
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                redis.Redis.from_url(self.url, socket_timeout=2).ping()
                return self
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def flush(self) -> None:
        redis.Redis.from_url(self.url, socket_timeout=5).flushdb()

    def stop(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            self.process.wait(timeout=30)

    def hang(self, hung: bool) -> None:
        """Keep connections open but answer nothing, or resume."""
        if self.proxy is not None:
            self.proxy.paused = hung
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGSTOP if hung else signal.SIGCONT)
