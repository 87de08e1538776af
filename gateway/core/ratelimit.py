"""Cost-based rate limits: token buckets per principal and per organization.

Every request is charged `base` points plus its estimated cost (the objects it may
resolve), to two buckets at once, all or nothing: its principal's (sized by role,
or as a partner or an invitee) and its organization's, so that neither one caller
nor the many callers of one organization can take more than their share. A
charge passes when each bucket holds at least the points asked, or is full when
the charge is larger than the bucket: an expensive query needs a full bucket and
leaves it in debt, so the requests after it wait for the refill.

The buckets live in Redis when it is configured (shared by every process and
replica, see `ratelimit_redis.py`) and in this process otherwise, or while Redis
fails. A bucket that cannot pay even the base charge is remembered here until it
can: its principal's next requests are refused before their document is read,
without a round trip to Redis.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.core.auth import Principal
from gateway.core.config import Bucket, RateLimits

Levels = tuple[bool, list[float]]  # whether the charge passed, each bucket's level after it


class Shared(Protocol):
    async def charge(self, keys: Sequence[str], buckets: Sequence[Bucket], points: int) -> Levels | None: ...


@dataclass(frozen=True)
class Decision:
    """A charge's outcome, told by the tighter of the two buckets (the one with fewer points left).

    `limit` is that bucket's size, `remaining` the points it holds now, `reset_s` the seconds until it
    is full again; `retry_after_s` (refusals) the seconds until the refused charge could pass.
    """

    allowed: bool
    limit: int
    remaining: int
    reset_s: int
    retry_after_s: int = 0
    scope: str = "principal"

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
        }


@dataclass(frozen=True)
class Target:
    """The buckets one principal is charged to: keys, sizes and what each one limits."""

    keys: tuple[str, ...]
    buckets: tuple[Bucket, ...]
    scopes: tuple[str, ...]


def target_of(limits: RateLimits, principal: Principal) -> Target:
    org = principal.organization.enterprise_id
    who = hashlib.sha256(f"{principal.issuer}\0{principal.subject}".encode()).hexdigest()[:32]
    # The organization in braces: both keys of a charge hash to one Redis Cluster slot.
    mine = f"omnify:rl:{{{org}}}:p:{who}"
    if principal.kind == "invitee":
        # Invitees share no organization: only their own bucket applies.
        return Target((mine,), (limits.invitee,), ("principal",))
    return Target(
        (mine, f"omnify:rl:{{{org}}}:o"),
        (bucket_of(limits, principal), limits.organization),
        ("principal", "organization"),
    )


def bucket_of(limits: RateLimits, principal: Principal) -> Bucket:
    if principal.kind == "partner":
        return limits.partner
    if principal.kind == "invitee":
        return limits.invitee
    mine = [limits.roles[r] for r in principal.roles if r in limits.roles]
    # Several roles: the most generous applies; none known: a viewer's.
    return max(mine, key=lambda b: (b.per_second, b.burst)) if mine else limits.roles["viewer"]


def refill(level: float, elapsed_s: float, bucket: Bucket) -> float:
    return min(float(bucket.burst), level + max(0.0, elapsed_s) * bucket.per_second)


def passes(levels: Sequence[float], buckets: Sequence[Bucket], points: int) -> bool:
    return all(level >= min(points, b.burst) for level, b in zip(levels, buckets, strict=True))


class LocalBuckets:
    """Buckets in this process: without Redis, or while it fails."""

    SWEEP_MIN = 10_000

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._state: dict[str, tuple[float, float, float]] = {}  # key -> (level, at, full at)
        self._sweep_at = self.SWEEP_MIN

    def charge(self, keys: Sequence[str], buckets: Sequence[Bucket], points: int) -> Levels:
        now = self.clock()
        levels = []
        for key, bucket in zip(keys, buckets, strict=True):
            state = self._state.get(key)
            levels.append(float(bucket.burst) if state is None else refill(state[0], now - state[1], bucket))
        allowed = passes(levels, buckets, points)
        if allowed:
            levels = [level - points for level in levels]
            for key, level, bucket in zip(keys, levels, buckets, strict=True):
                self._state[key] = (level, now, now + (bucket.burst - level) / bucket.per_second)
            if len(self._state) > self._sweep_at:
                self._sweep(now)
        return allowed, levels

    def _sweep(self, now: float) -> None:
        # A full bucket is the same as no bucket: forget those, so idle callers cost no memory.
        self._state = {k: v for k, v in self._state.items() if v[2] > now}
        self._sweep_at = max(self.SWEEP_MIN, 2 * len(self._state))


class RateLimiter:
    """Charges requests to their buckets (see the module docstring); `None` decisions when limits are off."""

    BLOCKED_MAX = 10_000

    def __init__(
        self,
        limits: RateLimits,
        shared: Shared | None = None,
        on_refused: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        self.shared = shared
        self.local = LocalBuckets(clock)
        self.on_refused = on_refused
        self.clock = clock
        # key -> (moment it can pay the base charge again, its bucket, its level at that record, recorded at)
        self._blocked: dict[str, tuple[float, Bucket, float, float, str]] = {}

    @property
    def enabled(self) -> bool:
        return self.limits.enabled

    def points(self, cost: int) -> int:
        return self.limits.base + max(0, cost)

    def blocked(self, principal: Principal) -> Decision | None:
        """A refusal without a round trip, while one of the principal's buckets cannot pay the base charge."""
        if not self.enabled or not self._blocked:
            return None
        now = self.clock()
        for key in target_of(self.limits, principal).keys:
            entry = self._blocked.get(key)
            if entry is None:
                continue
            until, bucket, level, at, scope = entry
            if until <= now:
                del self._blocked[key]
                continue
            if self.on_refused is not None:
                self.on_refused(scope)
            current = refill(level, now - at, bucket)
            return Decision(
                False,
                bucket.burst,
                0,
                _seconds((bucket.burst - current) / bucket.per_second),
                max(1, _seconds(until - now)),
                scope,
            )
        return None

    async def charge(self, principal: Principal, cost: int) -> Decision | None:
        if not self.enabled:
            return None
        target = target_of(self.limits, principal)
        points = self.points(cost)
        outcome = None
        if self.shared is not None:
            outcome = await self.shared.charge(target.keys, target.buckets, points)
        if outcome is None:
            outcome = self.local.charge(target.keys, target.buckets, points)
        allowed, levels = outcome
        self._remember(target, levels)
        decision = decide(allowed, levels, target, points)
        if not allowed and self.on_refused is not None:
            self.on_refused(decision.scope)
        return decision

    def _remember(self, target: Target, levels: Sequence[float]) -> None:
        now = self.clock()
        need = max(1, self.limits.base)
        for key, level, bucket, scope in zip(target.keys, levels, target.buckets, target.scopes, strict=True):
            if level < need:
                if len(self._blocked) >= self.BLOCKED_MAX:
                    self._blocked = {k: v for k, v in self._blocked.items() if v[0] > now}
                    if len(self._blocked) >= self.BLOCKED_MAX:
                        continue  # only a shortcut: the charge itself still refuses this caller
                self._blocked[key] = (now + (need - level) / bucket.per_second, bucket, level, now, scope)
            else:
                self._blocked.pop(key, None)


def decide(allowed: bool, levels: Sequence[float], target: Target, points: int) -> Decision:
    parts = [
        (max(0, math.floor(level)), _seconds((b.burst - level) / b.per_second), b, scope, level)
        for level, b, scope in zip(levels, target.buckets, target.scopes, strict=True)
    ]
    remaining, reset, bucket, scope, _ = min(parts, key=lambda p: (p[0], -p[1]))
    retry = 0
    if not allowed:
        waits = [
            ((min(points, b.burst) - level) / b.per_second, s)
            for _, _, b, s, level in parts
            if level < min(points, b.burst)
        ]
        wait, scope = max(waits)
        retry = max(1, _seconds(wait))
    return Decision(allowed, bucket.burst, remaining, reset, retry, scope)


def _seconds(value: float) -> int:
    return max(0, math.ceil(value - 1e-9))
