"""A Redis client behind a circuit, for the features Redis helps but the API does not need.

Rate-limit buckets and persisted queries live in Redis when it is configured, so
every process and replica shares them. A call that fails or takes longer than the
(short) timeout opens the circuit: the feature falls back to its in-process state at
once, for every request, until a background ping every second gets an answer. The
log says so once when Redis starts failing and once when it answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

# What a Redis call can fail with: a refusal, a broken connection, the timeout.
REDIS_FAILURES = (RedisError, OSError, TimeoutError)


class RedisLink:
    """The client, whether Redis is `up`, and why not (`last_error`, `failing_since`)."""

    def __init__(
        self, url: str, timeout_s: float, log: logging.Logger, notes: tuple[str, str], probe_interval_s: float = 1.0
    ) -> None:
        self.timeout_s = timeout_s
        self.probe_interval_s = probe_interval_s
        self.log = log
        # What the log says when Redis goes away and when it is back: (down, up).
        self.notes = notes
        # No retries of its own: a failed call falls back at once, the probe retries.
        self.client: Redis = Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
            max_connections=64,
        )
        self.up = True
        self.last_error = ""
        self.failing_since: float | None = None
        self._probe: asyncio.Task[None] | None = None

    def failed(self, reason: str) -> None:
        self.last_error = reason[:300]
        if not self.up:
            return
        self.up = False
        self.failing_since = time.time()
        self.log.warning("%s: Redis is unavailable (%s); %s", self.notes[0], self.last_error, self.notes[1])
        # A context of its own: the probe outlives the request whose call failed.
        self._probe = asyncio.create_task(self._watch(), name="redis-probe", context=contextvars.Context())

    async def _watch(self) -> None:
        while not self.up:
            await asyncio.sleep(self.probe_interval_s)
            if await self.ping() is not None:
                self.up = True
                self.failing_since = None
                self.log.warning("%s: Redis answers again", self.notes[0])

    async def ping(self) -> float | None:
        """Milliseconds a PING took, or None (and the reason in `last_error`)."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(max(self.timeout_s, 1.0)):
                await self.client.ping()
        except REDIS_FAILURES as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"[:300]
            return None
        return round((time.perf_counter() - started) * 1000, 2)

    async def state(self) -> dict[str, Any]:
        """`ok` and the PING's milliseconds, or why not and since when (a failed PING opens the circuit)."""
        if self.up:
            ms = await self.ping()
            if ms is not None:
                return {"ok": True, "ms": ms}
            self.failed(self.last_error)
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.failing_since or time.time()))
        return {"ok": False, "error": self.last_error, "since": since}

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
        with contextlib.suppress(RedisError, OSError):
            await self.client.aclose()
