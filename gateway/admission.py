"""Admission control per organization, in one worker process.

A worker runs at most `per_org` requests of one organization and `per_worker`
requests in all at once; `per_org` below `per_worker` keeps room for the other
organizations however much one of them sends. A request beyond either bound
waits in its organization's queue (first in, first out), and each freed slot
goes to the waiting organizations in turn (round robin), never to whichever
organization queued the most. A wait is bounded in length (`queue` requests per
organization) and in time (`wait_s`): past either the request is refused with
`RateLimited`, since it is that organization's own traffic that fills its queue.

Counters per organization (admitted, queued, refused) stay for the life of the
process: organizations are the directory's, not something a caller can invent.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from gateway.errors import RateLimited

RETRY_AFTER_S = 1


@dataclass
class OrgState:
    in_flight: int = 0
    queue: deque[asyncio.Future[None]] = field(default_factory=deque)
    admitted: int = 0  # at once, without waiting
    queued: int = 0  # admitted after waiting in the queue
    refused: int = 0


class Admission:
    def __init__(
        self,
        per_org: int,
        per_worker: int,
        queue: int,
        wait_s: float,
        on_wait: Callable[[float], None] | None = None,
        on_refused: Callable[[str], None] | None = None,
    ) -> None:
        self.per_org = per_org
        self.per_worker = per_worker
        self.queue_limit = queue
        self.wait_s = wait_s
        self.on_wait = on_wait
        self.on_refused = on_refused
        self.in_flight = 0
        self.waiting = 0
        self.orgs: dict[str, OrgState] = {}
        # Organizations with someone waiting, in the order their turn comes.
        self._turns: deque[str] = deque()

    def state(self, org: str) -> OrgState:
        found = self.orgs.get(org)
        if found is None:
            found = self.orgs[org] = OrgState()
        return found

    @contextlib.asynccontextmanager
    async def slot(self, org: str) -> AsyncIterator[None]:
        await self.acquire(org)
        try:
            yield
        finally:
            self.release(org)

    async def acquire(self, org: str) -> None:
        state = self.state(org)
        if not state.queue and state.in_flight < self.per_org and self.in_flight < self.per_worker:
            state.admitted += 1
            self._grant(state)
            return
        if len(state.queue) >= self.queue_limit:
            self._refuse(state, "queue_full")
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        state.queue.append(waiter)
        self.waiting += 1
        if len(state.queue) == 1:
            self._turns.append(org)
        started = time.monotonic()
        try:
            # `wait` leaves the future alone on a timeout: whether it was granted is read below.
            await asyncio.wait((waiter,), timeout=self.wait_s)
        except asyncio.CancelledError:
            self._abandon(org, state, waiter)
            raise
        finally:
            if self.on_wait is not None:
                self.on_wait(time.monotonic() - started)
        if not waiter.done():
            self._abandon(org, state, waiter)
            self._refuse(state, "timeout")
        state.queued += 1

    def release(self, org: str) -> None:
        state = self.orgs[org]
        state.in_flight -= 1
        self.in_flight -= 1
        self._dispatch()

    def _grant(self, state: OrgState) -> None:
        state.in_flight += 1
        self.in_flight += 1

    def _dispatch(self) -> None:
        """Hand free slots to the waiting organizations in turn; the one served goes to the back."""
        while self.in_flight < self.per_worker:
            org = next((o for o in self._turns if self.orgs[o].in_flight < self.per_org), None)
            if org is None:
                return
            state = self.orgs[org]
            self._turns.remove(org)
            waiter = state.queue.popleft()
            self.waiting -= 1
            if state.queue:
                self._turns.append(org)
            self._grant(state)
            waiter.set_result(None)

    def _abandon(self, org: str, state: OrgState, waiter: asyncio.Future[None]) -> None:
        if waiter.done():  # granted just as the caller gave up: hand the slot on
            self.release(org)
            return
        waiter.cancel()
        state.queue.remove(waiter)
        self.waiting -= 1
        if not state.queue:
            self._turns.remove(org)

    def _refuse(self, state: OrgState, reason: str) -> None:
        state.refused += 1
        if self.on_refused is not None:
            self.on_refused(reason)
        why = "too many of its requests are waiting" if reason == "queue_full" else "its requests waited too long"
        raise RateLimited(
            f"your organization's requests are over their share of this server ({why}); retry after {RETRY_AFTER_S} s",
            RETRY_AFTER_S,
            limit="admission",
        )
