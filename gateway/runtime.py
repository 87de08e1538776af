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
# answers being built: its cost is bounded by what is in flight, whatever the
# threshold. A threshold well above one large answer (a 1,000-creative page
# is about 10,000 containers) makes collections rare without making them
# longer; at 50,000 the campaigns 50x20 query spent about a third of its CPU
# in the collector under load.
GC_THRESHOLDS = (200_000, 20, 100)


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
