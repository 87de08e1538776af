"""Process-level tuning of a serving worker: the garbage collector.

A GraphQL response builds many short-lived containers; with CPython's default
thresholds the collector runs young collections constantly and, every so
often, a full collection that walks every object of the process (the schema,
the modules, the pools), which under load shows up as a pause of a hundred
milliseconds or more in the slowest requests. After start-up the long-lived
objects are moved out of the collector's sight (`gc.freeze`) and the
thresholds are raised, so the collector only walks what requests leave behind.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from typing import Any

# Young collections after this many net allocations (CPython's default is 700);
# older generations after this many younger collections (default 10 and 10).
# A young collection walks the young objects still alive, which are mostly the
# answers being built, so what it costs is set by what is in flight, not by the
# threshold; the threshold decides how often that happens. Answers die by
# reference counting, and a request leaves nothing in reference cycles (see
# `resolvers.execution.runner.release`), so the count grows with what is in
# flight rather than with what has been served. Under 64 connections a worker
# holds several hundred thousand young containers: at 200,000 the collector ran
# about once a second and took 0.7-2.3 s of each minute (up to 2.4 ms per
# request); at 1,000,000 it takes a few milliseconds a minute.
GC_THRESHOLDS = (1_000_000, 20, 100)


@dataclass
class GcWatch:
    """Counts collections per generation and their pause time, for /healthz and the benchmarks."""

    collections: list[int] = field(default_factory=lambda: [0, 0, 0])
    pause_s: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    longest_s: float = 0.0
    _started: float = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        generation = int(info.get("generation", 0))
        pause = time.perf_counter() - self._started
        self.collections[generation] += 1
        self.pause_s[generation] += pause
        self.longest_s = max(self.longest_s, pause)

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
