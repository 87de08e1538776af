"""The time one request may spend turning its document into something to run.

Parsing, validating and pricing a document run on the event loop without
yielding: while they run, every other request of the worker waits. The limits
on a document's shape keep that work small; this budget is the backstop for a
shape nobody thought of. Processor time (`time.thread_time`, the loop thread's
own) is the measure of the work; wall-clock time, allowed WALL_FACTOR times
more, bounds what the other requests wait when the machine is busy. Each phase
is timed on its own, so time spent awaiting between phases is not counted, and
neither are the garbage collector's pauses in this thread: a collection may
start at any allocation and walk the whole heap, which is the process's cost,
not the document's (a refusal for it would be remembered against a good one).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from graphql import GraphQLError

from gateway.core.runtime import gc_watch

WALL_FACTOR = 4  # wall-clock allowance, as a multiple of the processor-time budget


class BudgetExceeded(Exception):
    def __init__(self, cpu_s: float, wall_s: float, budget_cpu_s: float) -> None:
        super().__init__(cpu_s, wall_s)
        self.cpu_s = cpu_s
        self.wall_s = wall_s
        self.budget_cpu_s = budget_cpu_s
        # Processor time says the document itself is too costly, and it will be again; wall-clock
        # time alone may only mean a busy machine, and says nothing about the next attempt.
        self.by_work = cpu_s > budget_cpu_s

    def error(self) -> GraphQLError:
        return GraphQLError(
            f"the document took more than {self.budget_cpu_s * 1000:.0f} ms to parse, validate and price "
            f"({self.cpu_s * 1000:.0f} ms of processor time, {self.wall_s * 1000:.0f} ms in all) and was not run; "
            "send a smaller or simpler document",
            extensions={"code": "QUERY_TOO_COMPLEX", "limit": "budget"},
        )


class Budget:
    def __init__(self, cpu_s: float) -> None:
        self.cpu_s = cpu_s
        self.wall_s = cpu_s * WALL_FACTOR
        self.used_cpu = 0.0
        self.used_wall = 0.0
        self._started: tuple[float, float, tuple[float, float]] | None = None

    @contextmanager
    def phase(self) -> Iterator[None]:
        """Time a stretch of work; on leaving it, refuse if the budget is spent."""
        self._started = (time.thread_time(), time.perf_counter(), gc_watch.collected_here())
        try:
            yield
        finally:
            cpu, wall = self._now()
            self.used_cpu, self.used_wall = cpu, wall
            self._started = None
        self.check()

    def check(self) -> None:
        """Raise BudgetExceeded once the time used so far passes the budget (cheap: two clock reads)."""
        cpu, wall = self._now()
        if cpu > self.cpu_s or wall > self.wall_s:
            raise BudgetExceeded(cpu, wall, self.cpu_s)

    def _now(self) -> tuple[float, float]:
        if self._started is None:
            return self.used_cpu, self.used_wall
        cpu0, wall0, (collected_wall0, collected_cpu0) = self._started
        collected_wall, collected_cpu = gc_watch.collected_here()
        return (
            self.used_cpu + max(0.0, time.thread_time() - cpu0 - (collected_cpu - collected_cpu0)),
            self.used_wall + max(0.0, time.perf_counter() - wall0 - (collected_wall - collected_wall0)),
        )
