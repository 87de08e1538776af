"""Rate-limit buckets in Redis, shared by every gateway process and replica.

One Lua script refills and charges a request's buckets atomically, on Redis's own
clock (so the replicas' clocks do not matter), and lets each key expire once its
bucket would be full again (a full bucket and a missing key are the same).

Redis is a help, not a store the API needs: while it fails, the limits fall back to
in-process buckets (see `redis_link.py`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from gateway.core.config import Bucket
from gateway.core.ratelimit import Levels
from gateway.core.redis_link import REDIS_FAILURES, RedisLink

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


class SharedBuckets(RedisLink):
    """The Redis side of the rate limiter; `charge` answers `None` while Redis is unavailable."""

    def __init__(self, url: str, timeout_s: float, probe_interval_s: float = 1.0) -> None:
        notes = ("rate limits", "in-process limits until it answers, then shared again")
        super().__init__(url, timeout_s, log, notes, probe_interval_s)
        self.script = self.client.register_script(CHARGE)

    async def charge(self, keys: Sequence[str], buckets: Sequence[Bucket], points: int) -> Levels | None:
        if not self.up:
            return None
        args: list[Any] = [points]
        for bucket in buckets:
            args += [bucket.burst, bucket.per_second]
        try:
            async with asyncio.timeout(self.timeout_s):
                reply = await self.script(keys=list(keys), args=args)
        except REDIS_FAILURES as exc:
            self.failed(f"{type(exc).__name__}: {exc}")
            return None
        return bool(int(reply[0])), [float(level) for level in reply[1:]]

    async def readiness(self) -> dict[str, Any]:
        state = await self.state()
        return {**state, "limits": "shared" if state["ok"] else "in-process (fallback)"}
