"""WebSocket caps: sockets waiting to authenticate, subscribe churn, and subscriptions charged to the rate limits."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from websockets.asyncio.client import connect

from gateway.core.config import Bucket, RateLimits
from tests.conftest import Stores
from tests.support.issuer import TestIssuer
from tests.test_fair_share import serving
from tests.test_subscriptions import ACTIONS, PROTOCOL, Client, socket, ws_url


async def opened(stack: AsyncExitStack, base: str, address: str = "127.0.0.1") -> Client:
    """A socket from `address` (any loopback address reaches the server) that has not authenticated."""
    ws = await stack.enter_async_context(
        connect(ws_url(base), subprotocols=[PROTOCOL], open_timeout=30, local_addr=(address, 0))  # type: ignore[list-item]
    )
    return Client(ws)


async def answers_ping(client: Client) -> bool:
    await client.send({"type": "ping"})
    return (await client.receive())["type"] == "pong"


async def test_sockets_waiting_to_authenticate_are_capped_per_address_and_per_process(
    seeded: Stores, issuer: TestIssuer
) -> None:
    with serving(seeded, issuer, ws_max_unauthenticated=3, ws_max_unauthenticated_per_address=2) as (server, _):
        async with AsyncExitStack() as stack:
            first = await opened(stack, server.url)
            second = await opened(stack, server.url)
            assert await answers_ping(first) and await answers_ping(second)
            code, reason = await (await opened(stack, server.url)).closed()
            assert code == 1013 and "from your address" in reason, (code, reason)
            # Another address may still wait, until the process holds its three.
            elsewhere = await opened(stack, server.url, "127.0.0.2")
            assert await answers_ping(elsewhere)
            code, reason = await (await opened(stack, server.url, "127.0.0.3")).closed()
            assert code == 1013 and "waiting to authenticate" in reason and "address" not in reason, reason
            # Authenticating frees a place: the first address may open another socket.
            assert await first.init(issuer.token("acme", "viewer")) == {"type": "connection_ack"}
            third = await opened(stack, server.url)
            assert await answers_ping(third)
        # All closed: every address may wait again.
        async with AsyncExitStack() as stack:
            again = [await opened(stack, server.url) for _ in range(2)]
            assert all([await answers_ping(c) for c in again])


async def errors_for(client: Client, operation_id: str) -> list[dict[str, Any]]:
    """The `error` payload for `operation_id`, skipping events of other operations."""
    while True:
        message = await client.receive(within=30)
        if message.get("id") == operation_id:
            assert message["type"] == "error", message
            payload: list[dict[str, Any]] = message["payload"]
            return payload


async def test_subscribe_churn_is_limited_per_socket_and_subscriptions_are_charged(
    seeded: Stores, issuer: TestIssuer
) -> None:
    limits = RateLimits(base=10, roles={**RateLimits().roles, "viewer": Bucket(15, 0.01)})
    with serving(seeded, issuer, ws_subscribe_burst=3, ws_subscribe_per_s=0.01, rate_limits=limits) as (server, _):
        async with socket(server.url, issuer.token("initech", "analyst")) as client:
            for n in range(3):
                await client.subscribe(str(n), ACTIONS)
                await client.send({"id": str(n), "type": "complete"})
            await client.subscribe("3", ACTIONS)
            [error] = await errors_for(client, "3")
            extensions = error["extensions"]
            assert extensions["code"] == "RATE_LIMITED" and extensions["limit"] == "subscribe"
            assert extensions["retryAfter"] >= 1
            assert await answers_ping(client)  # the socket stays open
        async with socket(server.url, issuer.token("initech", "viewer")) as client:
            # A subscription costs the base (10) and its estimated cost: a 15-point bucket pays for one.
            for n in range(2):
                await client.subscribe(str(n), ACTIONS)
            while (message := await client.receive(within=30))["type"] != "error":
                pass
            extensions = message["payload"][0]["extensions"]
            assert extensions["code"] == "RATE_LIMITED" and extensions["limit"] == "principal", message
            assert extensions["retryAfter"] >= 1
