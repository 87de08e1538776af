"""Process-level care of a serving worker: the garbage collector, and a watchdog on its event loop.

A GraphQL response builds many short-lived containers; with CPython's default
thresholds the collector runs young collections constantly and, every so
often, a full collection that walks every object of the process (the schema,
the modules, the pools), which under load shows up as a pause of a hundred
milliseconds or more in the slowest requests. After start-up the long-lived
objects are moved out of the collector's sight (`gc.freeze`) and the
thresholds are raised, so the collector only walks what requests leave behind.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("omnify.runtime")

# Young collections after this many net allocations (CPython's default is 700);
# older generations after this many younger collections (default 10 and 10).
# A young collection walks the young objects still alive, which are mostly the
# answers being built, so what it costs is set by what is in flight, not by the
# threshold; the threshold decides how often that happens. Answers die by
# reference counting, and a request leaves nothing in reference cycles (see
# `resolvers.execution.documents.release`), so the count grows with what is in
# flight rather than with what has been served. Under 64 connections a worker
# holds several hundred thousand young containers: at 200,000 the collector ran
# about once a second and took 0.7-2.3 s of each minute (up to 2.4 ms per
# request); at 1,000,000 it takes a few milliseconds a minute.
GC_THRESHOLDS = (1_000_000, 20, 100)


@dataclass
class GcWatch:
    """Counts collections per generation and their pause time, for /healthz and the benchmarks;
    and, per thread, the time its own collections took (what a request's time budget leaves out)."""

    collections: list[int] = field(default_factory=lambda: [0, 0, 0])
    pause_s: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    longest_s: float = 0.0
    _started: tuple[float, float] = (0.0, 0.0)
    _threads: threading.local = field(default_factory=threading.local)

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        # A collection runs in the thread whose allocation started it, holding the interpreter lock.
        if phase == "start":
            self._started = (time.perf_counter(), time.thread_time())
            return
        generation = int(info.get("generation", 0))
        pause = time.perf_counter() - self._started[0]
        self.collections[generation] += 1
        self.pause_s[generation] += pause
        self.longest_s = max(self.longest_s, pause)
        wall, cpu = self.collected_here()
        self._threads.collected = (wall + pause, cpu + time.thread_time() - self._started[1])

    def collected_here(self) -> tuple[float, float]:
        """(wall-clock, processor) time this thread has spent collecting garbage so far."""
        collected: tuple[float, float] = getattr(self._threads, "collected", (0.0, 0.0))
        return collected

    def as_dict(self) -> dict[str, Any]:
        return {
            "collections": list(self.collections),
            "pauseMs": [round(p * 1000, 1) for p in self.pause_s],
            "longestMs": round(self.longest_s * 1000, 1),
            "frozen": gc.get_freeze_count(),
            "thresholds": list(gc.get_threshold()),
        }


gc_watch = GcWatch()
gc.callbacks.append(gc_watch)


def tune_gc() -> None:
    """Freeze what exists now (imports, schema, app) and raise the thresholds; call once the app is built."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


EXIT_STALLED = 70  # EX_SOFTWARE; uvicorn's supervisor stops everything on 3 (a worker that failed to start)


class LoopWatchdog:
    """Watches one event loop from a thread of its own, and acts when the loop stops turning.

    The loop beats every BEAT_S (a timer callback that notes the time). The thread looks
    every CHECK_S: when the last beat is older than `warn_s` the loop is blocked (a callback
    or a coroutine is running without yielding), which is logged at WARNING with the stack
    the loop thread is executing, and counted. Past `kill_s`, the block is logged at ERROR
    and `on_stall` is called with EXIT_STALLED: under `serve` it ends the worker process, and
    uvicorn's supervisor starts a fresh one in its place (the block may never end: the
    supervisor's own health check is answered by a thread, not the loop, so it cannot tell).
    Without `on_stall` (`dev`, tests), the process stays and reports itself stalled.

    A thread holding the interpreter lock the whole time (a long call into C) stops this
    thread too; the supervisor's health check, which then goes unanswered, covers that case.
    """

    BEAT_S = 0.1
    CHECK_S = 0.05

    def __init__(
        self,
        warn_s: float,
        kill_s: float,
        *,
        on_stall: Callable[[int], object] | None = None,
        on_warn: Callable[[], object] | None = None,
        on_block: Callable[[float], object] | None = None,
    ) -> None:
        self.warn_s = warn_s
        self.kill_s = kill_s
        self.on_stall = on_stall
        self.on_warn = on_warn
        self.on_block = on_block
        self.last_beat = time.monotonic()
        self.blocks = 0  # blocks past warn_s, counted when seen
        self.longest_s = 0.0
        self.last_block_s = 0.0
        self.last_block_at: float | None = None
        self.stalled = False  # a block went past kill_s and the process was not replaced
        self._warned = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start watching `loop`; call from the loop's own thread."""
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self.last_beat = time.monotonic()
        self._timer = loop.call_later(self.BEAT_S, self._beat)
        self._thread = threading.Thread(target=self._watch, name="loop-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._timer is not None:
            self._timer.cancel()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    def lag_s(self) -> float:
        """How late the loop's next beat is now (0 while it turns on time)."""
        return max(0.0, time.monotonic() - self.last_beat - self.BEAT_S)

    def _beat(self) -> None:
        now = time.monotonic()
        late = now - self.last_beat - self.BEAT_S
        self.last_beat = now
        if late >= self.warn_s:
            self.last_block_s = late
            self.last_block_at = now
            self.longest_s = max(self.longest_s, late)
            if self.on_block is not None:
                self.on_block(late)
        self._warned = False
        if self._loop is not None and not self._stop.is_set():
            self._timer = self._loop.call_later(self.BEAT_S, self._beat)

    def _watch(self) -> None:
        while not self._stop.wait(self.CHECK_S):
            blocked = self.lag_s()
            if blocked >= self.warn_s and not self._warned:
                self._warned = True
                self.blocks += 1
                if self.on_warn is not None:
                    self.on_warn()
                log.warning(
                    "the event loop has been blocked for %.1f s; every request of this worker waits. It is running:\n%s",
                    blocked,
                    self._stack(),
                )
            if blocked >= self.kill_s and not self.stalled:
                self.stalled = True
                self._stalled(blocked)
                if self.on_stall is not None:
                    return

    def _stalled(self, blocked: float) -> None:
        replaced = self.on_stall is not None
        message = (
            f"the event loop has been blocked for {blocked:.1f} s (limit OMNIFY_LOOP_KILL_S={self.kill_s:g}); "
            + (
                "ending this worker so that the supervisor starts a fresh one"
                if replaced
                else "this process serves no one until it ends"
            )
        )
        # The blocked loop may be inside a logging call, holding the handler's lock (a full
        # stderr pipe blocks it there): log from another thread and exit even if that hangs.
        logger = threading.Thread(
            target=log.error, args=("%s. It is running:\n%s", message, self._stack()), daemon=True
        )
        logger.start()
        logger.join(timeout=2)
        if self.on_stall is not None:
            self.on_stall(EXIT_STALLED)

    def _stack(self) -> str:
        frame = sys._current_frames().get(self._loop_thread or 0)
        return "".join(traceback.format_stack(frame, limit=12)) if frame is not None else "(unknown)"

    def as_dict(self) -> dict[str, Any]:
        ago = None if self.last_block_at is None else round(time.monotonic() - self.last_block_at, 1)
        return {
            "lagMs": round(self.lag_s() * 1000, 1),
            "blocks": self.blocks,
            "lastBlockMs": round(self.last_block_s * 1000, 1),
            "lastBlockAgoS": ago,
            "longestBlockMs": round(self.longest_s * 1000, 1),
            "warnS": self.warn_s,
            "killS": self.kill_s,
            "stalled": self.stalled,
        }
