"""Admission control per organization, in one worker process.

A worker has `per_worker` slots, of which one organization may hold `per_org`
at once; `per_org` below `per_worker` keeps room for the other organizations
however much one of them sends. A request takes one slot, or more when it is
expensive (its weight, from its estimated cost, at most `per_org`): an
organization may run several small requests at once but only one heavy one.
A request that does not fit waits in its organization's queue (first in, first
out), and freed slots go to the waiting organizations in turn (round robin),
never to whichever organization queued the most; an organization whose turn it
is keeps it until enough slots are free for its request, so heavy requests are
not starved by light ones. Beyond slots, a heavy request lets an organization that
has used the worker less (slot-seconds, recent use counting most) go first while
that organization is active, so that organizations share the worker's time, not
just its slots (see `_yields`). A wait is bounded in length (`queue` requests per
organization) and in time (`wait_s`): past either the request is refused with
`RateLimited`, since it is that organization's own traffic that fills its queue.

Counters per organization (admitted, queued, refused) stay for the life of the
process: organizations are the directory's, not something a caller can invent.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from gateway.errors import RateLimited

RETRY_AFTER_S = 1
USAGE_HALF_LIFE_S = 1.0  # how quickly an organization's past use of the worker is forgotten
# A client sending one request after another is still active between them; one that pauses
# longer is not, so a trickle of light requests does not hold heavy ones back for long.
ACTIVE_GAP_S = 0.01
YIELD_RECHECK_S = 0.01


@dataclass
class OrgState:
    in_flight: int = 0  # slots held
    queue: deque[tuple[asyncio.Future[None], int]] = field(default_factory=deque)  # waiters and their weights
    admitted: int = 0  # at once, without waiting
    queued: int = 0  # admitted after waiting in the queue
    refused: int = 0
    yielded: int = 0  # heavy requests held back for an organization that had used the worker less
    usage: float = 0.0  # slot-seconds held, decayed with USAGE_HALF_LIFE_S, as of `usage_at`
    usage_at: float = 0.0
    done_at: float = float("-inf")  # when its latest request released its slots


class Admission:
    def __init__(
        self,
        per_org: int,
        per_worker: int,
        queue: int,
        wait_s: float,
        on_wait: Callable[[float], None] | None = None,
        on_refused: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.per_org = per_org
        self.per_worker = per_worker
        self.queue_limit = queue
        self.wait_s = wait_s
        self.on_wait = on_wait
        self.on_refused = on_refused
        self.in_flight = 0  # slots held, by all organizations
        self.waiting = 0  # requests waiting
        self.orgs: dict[str, OrgState] = {}
        # Organizations with someone waiting, in the order their turn comes.
        self._turns: deque[str] = deque()
        self._recheck: asyncio.TimerHandle | None = None

    def state(self, org: str) -> OrgState:
        found = self.orgs.get(org)
        if found is None:
            found = self.orgs[org] = OrgState()
        return found

    def weight(self, slots: int) -> int:
        return max(1, min(slots, self.per_org))

    @contextlib.asynccontextmanager
    async def slot(self, org: str, slots: int = 1) -> AsyncIterator[None]:
        weight = self.weight(slots)
        await self.acquire(org, weight)
        started = self.clock()
        try:
            yield
        finally:
            self.release(org, weight, self.clock() - started)

    def usage(self, state: OrgState, now: float) -> float:
        return state.usage * math.pow(0.5, (now - state.usage_at) / USAGE_HALF_LIFE_S)

    def _yields(self, org: str, state: OrgState, weight: int) -> bool:
        """Whether a heavy request (more than one slot) must let a lighter user of the worker go first.

        Slots bound how many requests run at once, not how much of the worker's time a heavy one
        takes from the light requests running beside it on the same event loop and stores. So
        while another organization is active and has used the worker less (slot-seconds, recent
        use counting most), a heavy request waits: organizations then share the worker's time
        about evenly, each weighted by its requests' cost, and with nobody else active a heavy
        organization has it all.
        """
        if weight <= 1:
            return False
        now = self.clock()
        mine = self.usage(state, now)
        for other, theirs in self.orgs.items():
            active = theirs.in_flight > 0 or theirs.queue or now - theirs.done_at < ACTIVE_GAP_S
            if other != org and active and self.usage(theirs, now) < mine:
                self._recheck_soon()
                return True
        return False

    def _recheck_soon(self) -> None:
        # The lighter organization may simply go quiet: look again shortly even if nothing is released.
        if self._recheck is None:

            def recheck() -> None:
                self._recheck = None
                self._dispatch()

            self._recheck = asyncio.get_running_loop().call_later(YIELD_RECHECK_S, recheck)

    async def acquire(self, org: str, slots: int = 1) -> None:
        state = self.state(org)
        weight = self.weight(slots)
        if not state.queue and self._fits(state, weight) and not self._slots_held():
            if not self._yields(org, state, weight):
                state.admitted += 1
                self._grant(state, weight)
                return
            state.yielded += 1
        if len(state.queue) >= self.queue_limit:
            self._refuse(state, "queue_full")
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        state.queue.append((waiter, weight))
        self.waiting += 1
        if len(state.queue) == 1:
            self._turns.append(org)
        started = time.monotonic()
        try:
            # `wait` leaves the future alone on a timeout: whether it was granted is read below.
            await asyncio.wait((waiter,), timeout=self.wait_s)
        except asyncio.CancelledError:
            self._abandon(org, state, waiter, weight)
            raise
        finally:
            if self.on_wait is not None:
                self.on_wait(time.monotonic() - started)
        if not waiter.done():
            self._abandon(org, state, waiter, weight)
            self._refuse(state, "timeout")
        state.queued += 1

    def release(self, org: str, slots: int = 1, held_s: float = 0.0) -> None:
        weight = self.weight(slots)
        state = self.orgs[org]
        state.in_flight -= weight
        self.in_flight -= weight
        now = self.clock()
        state.usage = self.usage(state, now) + weight * held_s
        state.usage_at = state.done_at = now
        self._dispatch()

    def _slots_held(self) -> bool:
        """Whether the free slots are held for a waiting organization whose turn it is.

        A waiting organization within its own share whose request needs more slots than are
        free is waiting for the worker's slots: newcomers must not take them (a heavy request
        would starve behind light ones). Organizations waiting on their own share, or yielding
        to a lighter one, hold nothing.
        """
        for org in self._turns:
            state = self.orgs[org]
            weight = state.queue[0][1]
            if (
                state.in_flight + weight <= self.per_org
                and self.in_flight + weight > self.per_worker
                and not self._yields(org, state, weight)
            ):
                return True
        return False

    def _fits(self, state: OrgState, weight: int) -> bool:
        return state.in_flight + weight <= self.per_org and self.in_flight + weight <= self.per_worker

    def _grant(self, state: OrgState, weight: int) -> None:
        state.in_flight += weight
        self.in_flight += weight

    def _dispatch(self) -> None:
        """Hand free slots to the waiting organizations in turn; the one served goes to the back."""
        while True:
            for org in self._turns:
                state = self.orgs[org]
                weight = state.queue[0][1]
                if state.in_flight + weight > self.per_org:
                    continue  # its own requests hold its share: the next organization's turn
                if self._yields(org, state, weight):
                    continue  # a lighter organization goes first; the recheck comes back to it
                if self.in_flight + weight > self.per_worker:
                    return  # it keeps its turn until enough slots are free
                break
            else:
                return
            self._turns.remove(org)
            waiter, _ = state.queue.popleft()
            self.waiting -= 1
            if state.queue:
                self._turns.append(org)
            self._grant(state, weight)
            waiter.set_result(None)

    def _abandon(self, org: str, state: OrgState, waiter: asyncio.Future[None], weight: int) -> None:
        if waiter.done():  # granted just as the caller gave up: hand the slots on
            self.release(org, weight)
            return
        waiter.cancel()
        state.queue.remove((waiter, weight))
        self.waiting -= 1
        if not state.queue:
            self._turns.remove(org)
        self._dispatch()  # it may have been the one whose turn held the free slots back

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
