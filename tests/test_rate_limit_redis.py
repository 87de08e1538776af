"""Rate limits shared by two gateways through a real Redis; in-process limits while Redis is away."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest

from gateway.core.config import Bucket, RateLimits
from tests.conftest import Stores
from tests.support.issuer import TestIssuer
from tests.support.redis import RedisServer
from tests.test_fair_share import SMALL, post, serving

LIMITS = RateLimits(
    base=10,
    roles={**RateLimits().roles, "analyst": Bucket(120, 0.01), "viewer": Bucket(120, 0.01)},
)


async def spend(http: httpx.AsyncClient, token: str) -> list[int]:
    """Statuses of requests sent until one is refused (at most 30)."""
    statuses = []
    for _ in range(30):
        statuses.append((await post(http, token, SMALL)).status_code)
        if statuses[-1] != 200:
            break
    return statuses


async def redis_state(http: httpx.AsyncClient, want: str, entry: str = "redis", key: str = "limits") -> dict[str, Any]:
    """`/readyz`'s `entry` once its `key` is `want` (generous deadline: a busy machine is slow)."""
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        response = await http.get("/readyz")
        assert response.status_code == 200, response.text  # Redis never makes the gateway unready
        state: dict[str, Any] = response.json()[entry]
        if state[key] == want or asyncio.get_running_loop().time() > deadline:
            assert state[key] == want, state
            return state
        await asyncio.sleep(0.2)


def noticed(caplog: pytest.LogCaptureFixture, text: str, logger: str = "omnify.ratelimit") -> int:
    return sum(text in r.getMessage() for r in caplog.records if r.name == logger)


async def test_two_gateways_share_limits_through_redis_and_fall_back_without_it(
    seeded: Stores, issuer: TestIssuer, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="omnify.ratelimit")
    # A generous Redis timeout: a busy test machine must not look like a Redis outage.
    shared = {"rate_limits": LIMITS, "redis_url": redis_server.url, "redis_timeout_s": 2.0}
    with serving(seeded, issuer, **shared) as (one, _), serving(seeded, issuer, **shared) as (other, _):
        async with (
            httpx.AsyncClient(base_url=one.url, timeout=60) as a,
            httpx.AsyncClient(base_url=other.url, timeout=60) as b,
        ):
            assert (await redis_state(a, "shared"))["ok"] is True
            analyst = issuer.token("acme", "analyst")
            spent = await spend(a, analyst)
            assert spent[-1] == 429 and spent.count(200) >= 2, spent
            # The other gateway never saw this principal, yet its first request is refused.
            seen = await post(b, analyst, SMALL)
            assert seen.status_code == 429, seen.text
            assert seen.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"

            redis_server.stop()
            marketer = issuer.token("acme", "marketer")
            during = [await post(a, marketer, SMALL) for _ in range(20)] + [await post(b, marketer, SMALL)]
            assert all(r.status_code == 200 and "errors" not in r.json() for r in during), during[-1].text
            assert all("ratelimit-remaining" in r.headers for r in during)  # limits still apply, in-process
            for http in (a, b):
                state = await redis_state(http, "in-process (fallback)")
                assert state["ok"] is False and state["error"] and state["configured"] is True
            # Many requests failed over to in-process limits; the log said so once per gateway.
            assert noticed(caplog, "Redis is unavailable") == 2

            redis_server.start()
            for http in (a, b):
                await redis_state(http, "shared")
            assert noticed(caplog, "Redis answers again") == 2
            viewer = issuer.token("acme", "viewer")
            spent = await spend(b, viewer)
            assert spent[-1] == 429, spent
            assert (await post(a, viewer, SMALL)).status_code == 429  # shared again

            redis_server.hang(True)
            try:
                hung = [await post(a, marketer, SMALL) for _ in range(5)]
                assert all(r.status_code == 200 for r in hung), hung[-1].text
                await redis_state(a, "in-process (fallback)")
            finally:
                redis_server.hang(False)
            await redis_state(a, "shared")
