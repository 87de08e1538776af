"""Rate-limit buckets in Redis, shared by every gateway process and replica.

One Lua script refills and charges a request's buckets atomically, on Redis's own
clock (so the replicas' clocks do not matter), and lets each key expire once its
bucket would be full again (a full bucket and a missing key are the same).

Redis is a help, not a store the API needs: a call that fails or takes longer than
the (short) timeout opens a circuit, and the limits fall back to in-process buckets
at once, for every request, until a background ping every second gets an answer.
The log says so once when Redis starts failing and once when it answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from gateway.core.config import Bucket
from gateway.core.ratelimit import Levels

log = logging.getLogger("omnify.ratelimit")

# KEYS: the buckets. ARGV: the points, then each bucket's size and refill per second.
# Returns whether the charge passed, then each bucket's level after it (as strings: Lua
# numbers would come back truncated to integers).
CHARGE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local points = tonumber(ARGV[1])
local levels = {}
local allowed = true
for i, key in ipairs(KEYS) do
  local burst = tonumber(ARGV[2 * i])
  local rate = tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', key, 'level', 'at')
  local level = burst
  if state[1] then
    level = math.min(burst, tonumber(state[1]) + math.max(0, now - tonumber(state[2])) * rate)
  end
  if level < math.min(points, burst) then allowed = false end
  levels[i] = level
end
local out = {allowed and 1 or 0}
for i, key in ipairs(KEYS) do
  local level = levels[i]
  if allowed then
    local burst = tonumber(ARGV[2 * i])
    local rate = tonumber(ARGV[2 * i + 1])
    level = level - points
    redis.call('HSET', key, 'level', string.format('%.6f', level), 'at', string.format('%.6f', now))
    redis.call('PEXPIRE', key, math.ceil((burst - level) / rate * 1000) + 1000)
  end
  out[i + 1] = string.format('%.6f', level)
end
return out
"""


class SharedBuckets:
    """The Redis side of the rate limiter; `charge` answers `None` while Redis is unavailable."""

    def __init__(self, url: str, timeout_s: float, probe_interval_s: float = 1.0) -> None:
        self.timeout_s = timeout_s
        self.probe_interval_s = probe_interval_s
        # No retries of its own: a failed call falls back at once, the probe retries.
        self.client: Redis = Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
            max_connections=64,
        )
        self.script = self.client.register_script(CHARGE)
        self.up = True
        self.last_error = ""
        self.failing_since: float | None = None
        self._probe: asyncio.Task[None] | None = None

    async def charge(self, keys: Sequence[str], buckets: Sequence[Bucket], points: int) -> Levels | None:
        if not self.up:
            return None
        args: list[Any] = [points]
        for bucket in buckets:
            args += [bucket.burst, bucket.per_second]
        try:
            async with asyncio.timeout(self.timeout_s):
                reply = await self.script(keys=list(keys), args=args)
        except (RedisError, OSError, TimeoutError) as exc:
            self.failed(f"{type(exc).__name__}: {exc}")
            return None
        return bool(int(reply[0])), [float(level) for level in reply[1:]]

    def failed(self, reason: str) -> None:
        self.last_error = reason[:300]
        if not self.up:
            return
        self.up = False
        self.failing_since = time.time()
        log.warning("rate limits: Redis is unavailable (%s); in-process limits until it answers", self.last_error)
        # A context of its own: the probe outlives the request whose call failed.
        self._probe = asyncio.create_task(self._watch(), name="redis-probe", context=contextvars.Context())

    async def _watch(self) -> None:
        while not self.up:
            await asyncio.sleep(self.probe_interval_s)
            if await self.ping() is not None:
                self.up = True
                self.failing_since = None
                log.warning("rate limits: Redis answers again; limits are shared again")

    async def ping(self) -> float | None:
        """Milliseconds a PING took, or None (and the reason in `last_error`)."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(max(self.timeout_s, 1.0)):
                await self.client.ping()
        except (RedisError, OSError, TimeoutError) as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"[:300]
            return None
        return round((time.perf_counter() - started) * 1000, 2)

    async def readiness(self) -> dict[str, Any]:
        if self.up:
            ms = await self.ping()
            if ms is not None:
                return {"ok": True, "limits": "shared", "ms": ms}
            self.failed(self.last_error)
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.failing_since or time.time()))
        return {"ok": False, "limits": "in-process (fallback)", "error": self.last_error, "since": since}

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
        with contextlib.suppress(RedisError, OSError):
            await self.client.aclose()
