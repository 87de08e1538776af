"""Run ASGI apps on real sockets from the tests, each in its own thread and event loop."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn

from gateway.ops.embedded import free_port


class ServerThread:
    def __init__(self, app: Any, port: int = 0) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None, lifespan="on", ws="auto")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True, name=f"server-{self.port}")

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server on port {self.port} did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
