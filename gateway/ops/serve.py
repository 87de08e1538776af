"""`omnify-gateway serve`: a supervisor and its worker processes, each listening on its own socket.

With one listening socket shared by every worker, whichever worker is awake first
accepts; under keep-alive load one worker could end up holding every connection
while the other idled. Here each worker binds its own socket to the port with
SO_REUSEPORT, and the kernel spreads new connections over the sockets by a hash of
the client's address and port. The supervisor holds one more socket on the port,
bound but never listening (it is handed no connection), so that the port stays
reserved while a dead worker is being replaced.

Metrics: the workers write their counters, histograms and gauges to files in a
directory of this `serve` (prometheus_client's multiprocess mode); a scrape of
`/metrics`, answered by any one worker, adds them up. The supervisor creates the
directory, forgets the live gauges of each worker that ends, and removes it at exit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from gateway.core.config import ConfigError, Settings, load_settings

log = logging.getLogger("omnify.serve")

# Time the supervisor allows past OMNIFY_SHUTDOWN_GRACE_S for a worker to close its WebSockets,
# stores and pools before it is killed.
STOP_MARGIN_S = 10.0
# How long a worker may leave the supervisor's ping unanswered before it is killed and replaced. A
# worker answers from a thread of its own, so only a process stuck as a whole (or one still importing
# on a loaded host, which uvicorn's 5 s would kill and restart over and over) stays silent this long.
HEALTHCHECK_S = 20
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def refuse_busy_port(host: str, port: int) -> None:
    """ConfigError when anything listens on host:port already, another `serve` included (a second
    SO_REUSEPORT group of the same user would otherwise join this one silently)."""
    probe = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    except OSError as exc:
        raise ConfigError(
            [f"cannot listen on {host}:{port}: {exc.strerror or exc} (is another server running there?)"]
        ) from None
    finally:
        probe.close()


def port_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port that other sockets of this user may bind too (SO_REUSEPORT)."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _drain_hook(app: Any) -> Any:
    """The application's `begin_shutdown`, found under uvicorn's wrapping middleware."""
    for _ in range(10):
        hook = getattr(getattr(app, "state", None), "begin_shutdown", None)
        if hook is not None:
            return hook
        app = getattr(app, "app", None)
    return None


class GracefulServer(uvicorn.Server):
    """uvicorn's server, stopping in the gateway's order: stop accepting at once, let the app turn
    unready and close its WebSockets with 1001 (uvicorn would cut them with 1012), then let the
    requests in flight finish for up to `timeout_graceful_shutdown` before the lifespan ends."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        hook = _drain_hook(self.config.loaded_app)
        if hook is not None:
            try:
                await hook()
            except Exception:  # the rest of the shutdown must run whatever the app did
                log.exception("draining the application failed")
        await super().shutdown(sockets)


class Worker(Process):
    """One worker process: binds its own listening socket, then serves until told to stop."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover (a child)
        threading.Thread(target=self.always_pong, daemon=True).start()
        try:
            sock = port_socket(self.config.host, self.config.port)
        except OSError as exc:
            log.error("cannot listen on %s:%s: %s", self.config.host, self.config.port, exc)
            sys.exit(STARTUP_FAILURE)  # the supervisor stops rather than restarting it in a loop
        self.server.run([sock])

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = GracefulServer(config=self.config)
        return self._server


class Supervisor(Multiprocess):
    """uvicorn's supervisor (health checks, a dead or stalled worker replaced), with workers that
    bind their own sockets, metrics files cleaned for each worker that ends, and a stop bounded by
    the grace period."""

    def __init__(self, config: uvicorn.Config, metrics_dir: str, stop_within_s: float) -> None:
        super().__init__(config, sockets=[])
        self.metrics_dir = metrics_dir
        self.stop_within_s = stop_within_s

    def init_processes(self) -> None:
        for _ in range(self.processes_num):
            self.processes.append(self._start_worker())

    def _start_worker(self) -> Worker:
        worker = Worker(self.config, [])
        worker.start()
        return worker

    def _forget(self, worker: Process) -> None:
        from prometheus_client import multiprocess

        if worker.pid is not None:
            multiprocess.mark_process_dead(worker.pid, self.metrics_dir)  # type: ignore[no-untyped-call]

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return
        for idx, process in enumerate(self.processes):
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()  # it may be alive but not answering: its loop or the interpreter is stuck
            process.join()
            self._forget(process)
            if process.exitcode == STARTUP_FAILURE:
                log.error("worker [%s] failed to start; stopping", process.pid)
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            log.warning("worker [%s] ended (exit code %s); starting another", process.pid, process.exitcode)
            self.processes[idx] = self._start_worker()

    def join_all(self) -> None:
        deadline = time.monotonic() + self.stop_within_s
        for process in self.processes:
            process.process.join(max(0.0, deadline - time.monotonic()))
            if process.process.is_alive():
                log.error("worker [%s] did not stop within %.0f s; killing it", process.pid, self.stop_within_s)
                process.kill()
                process.process.join()
            self._forget(process)

    def handle_hup(self) -> None:
        log.info("SIGHUP ignored: restart `serve` to reload")

    def handle_ttin(self) -> None:
        log.info("SIGTTIN ignored: the number of workers is set at start")

    def handle_ttou(self) -> None:
        log.info("SIGTTOU ignored: the number of workers is set at start")


def production_app() -> Any:
    """The app of one `serve` worker: settings from the environment, the collector tuned.

    uvicorn starts each worker process afresh and calls this there, so every
    worker reads and validates the same environment the supervisor checked.
    A worker whose event loop stays blocked past OMNIFY_LOOP_KILL_S ends itself
    (`os._exit`: the loop that would run a clean shutdown is the one blocked), and
    the supervisor starts another.
    """
    from gateway.core.logs import configure_logging
    from gateway.core.runtime import tune_gc
    from gateway.http.app import create_app

    settings = load_settings()
    configure_logging(settings.log_level)
    app = create_app(settings, on_stall=os._exit)
    tune_gc()
    return app


def serve(settings: Settings, workers: int | None) -> int:
    """Supervise `workers` (default: OMNIFY_WORKERS) workers until SIGTERM/SIGINT; the exit status."""
    from gateway.core.logs import configure_logging

    configure_logging(settings.log_level)
    count = workers if workers is not None else settings.workers
    if count < 1:
        raise ConfigError([f"--workers {count} must be at least 1"])
    if workers is not None:
        os.environ["OMNIFY_WORKERS"] = str(count)  # what the workers' own settings say, too
    refuse_busy_port(settings.host, settings.port)
    reserved = port_socket(settings.host, settings.port)
    metrics_dir = tempfile.mkdtemp(prefix="omnify-metrics-")
    # Set before any worker starts: prometheus_client picks its storage when it is first imported.
    os.environ[MULTIPROC_ENV] = metrics_dir
    config = uvicorn.Config(
        "gateway.ops.serve:production_app",
        factory=True,
        workers=count,
        host=settings.host,
        port=settings.port,
        log_config=None,
        proxy_headers=True,
        timeout_graceful_shutdown=settings.shutdown_grace_s,
        timeout_worker_healthcheck=HEALTHCHECK_S,
        # A WebSocket message is held to the HTTP body limit (uvicorn's default is 16 MiB).
        ws_max_size=settings.max_body_bytes,
    )
    # Always the supervisor, one worker included: it starts a fresh worker in place of one that
    # died, which is how a worker whose event loop stalled is replaced (see `production_app`).
    supervisor = Supervisor(
        config, metrics_dir, settings.shutdown_grace_s + settings.ws_shutdown_drain_s + STOP_MARGIN_S
    )
    try:
        supervisor.run()
    finally:
        reserved.close()
        with contextlib.suppress(OSError):
            shutil.rmtree(metrics_dir)
    # The supervisor stops when a worker failed to start (the environment or the port is wrong).
    return STARTUP_FAILURE if any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes) else 0
