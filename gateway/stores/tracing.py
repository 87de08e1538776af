"""Per-request counters of store round trips, read by the debug extension and metrics."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass
class StoreCounter:
    round_trips: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {"roundTrips": self.round_trips, "ms": round(self.seconds * 1000, 2)}


@dataclass
class StoreTrace:
    postgres: StoreCounter = field(default_factory=StoreCounter)
    mongo: StoreCounter = field(default_factory=StoreCounter)

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {"postgres": self.postgres.as_dict(), "mongo": self.mongo.as_dict()}


# A ContextVar rather than a parameter: dataloader batches run in tasks that
# inherit the request's context, so they count against the right request.
current_trace: ContextVar[StoreTrace | None] = ContextVar("current_trace", default=None)


@contextmanager
def timed(store: str) -> Iterator[None]:
    trace = current_trace.get()
    started = time.perf_counter()
    try:
        yield
    finally:
        if trace is not None:
            counter: StoreCounter = getattr(trace, store)
            counter.round_trips += 1
            counter.seconds += time.perf_counter() - started
