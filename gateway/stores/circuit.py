"""One circuit per store, shared by the whole process: fail fast while a store is down or hung.

Every store call runs through `Circuit.call`. A call that meets a refused or
reset connection opens the circuit at once. A call that merely takes long is
not cut off for that: it is cut off only when the store has shown no sign of
life for the store timeout (no call anywhere answered, and a ping started
half-way through did not answer either). So a statement waiting on a row lock
while the store serves others runs on (the request deadline bounds it), while
the first request that meets a hung store waits at most the store timeout.

While the circuit is open every call fails at once with `StoreUnavailable`
and a background probe pings the store; the first answer closes it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from gateway.errors import StoreUnavailable

log = logging.getLogger("omnify.circuit")

T = TypeVar("T")
State = Literal["closed", "open"]


@dataclass
class Circuit:
    store: str
    # Answers within the timeout when the store is alive; raises or hangs otherwise.
    ping: Callable[[], Awaitable[object]]
    timeout_s: float
    # Errors that mean the store cannot be reached at all (refused, reset): open at once.
    unreachable: tuple[type[BaseException], ...]
    # Errors that mean "no answer in time" from the driver's own timers: open only if the store
    # answered nobody else meanwhile.
    timeouts: tuple[type[BaseException], ...] = (TimeoutError,)
    probe_interval_s: float = 0.5
    state: State = "closed"
    opened_count: int = 0
    last_error: str = ""
    _last_answer: float = field(default_factory=time.monotonic)
    _ping_task: asyncio.Task[None] | None = field(default=None, repr=False)
    _probe_task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def is_open(self) -> bool:
        return self.state == "open"

    def check(self) -> None:
        if self.state == "open":
            raise StoreUnavailable(self.store)

    async def call(self, operation: Awaitable[T]) -> T:
        """Run one store operation under the circuit; see the module docstring."""
        if self.state == "open":
            # Close the coroutine unawaited without a "never awaited" warning.
            if asyncio.iscoroutine(operation):
                operation.close()
            raise StoreUnavailable(self.store)
        task = asyncio.ensure_future(operation)
        began = time.monotonic()
        try:
            while True:
                # Wake when the silence reaches half the timeout (ping) or all of it (open), measured
                # from the latest answer: fixed steps would let an answer that came in just after
                # `began` push the opening out to one and a half timeouts.
                silent = time.monotonic() - max(began, self._last_answer)
                milestone = self.timeout_s / 2 if silent < self.timeout_s / 2 else self.timeout_s
                await asyncio.wait({task}, timeout=max(milestone - silent, 0.0))
                if task.done():
                    break
                if self.is_open:  # another call found the store hung: do not wait out our own timeout
                    raise StoreUnavailable(self.store)
                silent = time.monotonic() - max(began, self._last_answer)
                if silent >= self.timeout_s:
                    await _settle()
                    if task.done() or not self.silent_since(time.monotonic() - self.timeout_s):
                        continue
                    self.open(f"no answer for {self.timeout_s:g} s")
                    raise StoreUnavailable(self.store)
                if silent >= self.timeout_s / 2:
                    self._ping_soon()
        finally:
            if not task.done():
                task.cancel()
                await asyncio.wait({task})
        try:
            result = task.result()
        except self.timeouts as exc:
            if await self.stays_silent(began):
                self.open(f"{type(exc).__name__}: {exc}")
            raise StoreUnavailable(self.store) from exc
        except self.unreachable as exc:
            self.open(f"{type(exc).__name__}: {exc}")
            raise StoreUnavailable(self.store) from exc
        self.answered()
        return result

    def answered(self) -> None:
        self._last_answer = time.monotonic()

    def silent_since(self, moment: float) -> bool:
        """Whether the store has answered nothing since `moment` (a `time.monotonic()` value)."""
        return self._last_answer < moment

    async def stays_silent(self, began: float) -> bool:
        """After a driver timeout of a call begun at `began`: has the store shown no sign of life for the timeout?

        An answer that came in after `began` (another request's last statement, just as the store
        hung) does not prove the store alive: wait out the rest of the timeout, pinging it, and see.
        """
        await _settle()
        while not self.silent_since(began):
            silent = time.monotonic() - self._last_answer
            if silent >= self.timeout_s:
                return True
            if self.is_open:
                return False  # another call decided already
            self._ping_soon()
            moment = time.monotonic()
            await asyncio.sleep(min(self.timeout_s - silent, 0.05))
            if not self.silent_since(moment):
                return False  # answered meanwhile: alive
        return True

    def open(self, reason: str) -> None:
        self.last_error = reason[:300]
        if self.state == "open":
            return
        self.state = "open"
        self.opened_count += 1
        log.warning("%s circuit opened: %s; failing its fields at once until a probe answers", self.store, reason)
        # In a context of its own: the probe outlives the request that opened the circuit, whose
        # request id would otherwise label the probe's log lines (the "closed" one included).
        self._probe_task = asyncio.create_task(
            self._probe(), name=f"{self.store}-circuit-probe", context=contextvars.Context()
        )

    def _close(self) -> None:
        self.state = "closed"
        self.answered()
        log.warning("%s circuit closed: the store answers again", self.store)

    async def _try_ping(self) -> bool:
        try:
            async with asyncio.timeout(self.timeout_s):
                await self.ping()
        except Exception as exc:  # any failure means "not back yet"
            self.last_error = f"{type(exc).__name__}: {exc}"[:300]
            return False
        self.answered()
        return True

    def _ping_soon(self) -> None:
        # One liveness ping at a time: a slow call asks whether the store still answers anyone.
        if self._ping_task is None or self._ping_task.done():

            async def ping() -> None:
                await self._try_ping()

            self._ping_task = asyncio.create_task(ping(), name=f"{self.store}-liveness-ping")

    async def _probe(self) -> None:
        while self.state == "open":
            if await self._try_ping():
                self._close()
                return
            await asyncio.sleep(self.probe_interval_s)

    async def stop(self) -> None:
        for task in (self._probe_task, self._ping_task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._probe_task = self._ping_task = None


async def _settle() -> None:
    """Let the event loop run a few rounds before calling a store silent.

    A process busy with many requests can leave answers unread in its sockets for
    longer than the store timeout; that is the gateway's own lag, not the store's
    silence. These rounds read what has arrived and finish the calls it answers.
    """
    for _ in range(5):
        await asyncio.sleep(0)
