"""The open sockets of this process and their limits: per principal, waiting to authenticate, subscribe rate."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from typing import Protocol

from gateway.core.auth import Principal
from gateway.core.config import Settings
from gateway.http.ws_protocol import GOING_AWAY


class Session(Protocol):
    """What the hub uses of a `websocket.SocketSession`."""

    finished: asyncio.Event

    def close(self, code: int, reason: str, *, drain: bool = False) -> None: ...


def _principal_key(principal: Principal) -> tuple[str, str, str]:
    return principal.issuer, principal.subject, principal.organization.enterprise_id


class SocketHub:
    """The open sockets of this process: per-principal limits, sockets waiting to authenticate, shutdown."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sessions: set[Session] = set()
        self.per_principal: Counter[tuple[str, str, str]] = Counter()
        # Sockets accepted but not authenticated yet, in all and per client address: each costs
        # memory and a timer until `connection_init` or its timeout, and anyone can open them.
        self.unauthenticated: Counter[str] = Counter()
        self.closing = False

    def admit_unauthenticated(self, address: str) -> str | None:
        """Count a new socket as waiting to authenticate, or say why it may not wait."""
        settings = self.settings
        if self.unauthenticated.total() >= settings.ws_max_unauthenticated:
            return "too many connections are waiting to authenticate; try again later"
        if self.unauthenticated[address] >= settings.ws_max_unauthenticated_per_address:
            return "too many connections from your address are waiting to authenticate; try again later"
        self.unauthenticated[address] += 1
        return None

    def authenticated(self, address: str) -> None:
        self.unauthenticated[address] -= 1
        if self.unauthenticated[address] <= 0:
            del self.unauthenticated[address]

    def admit_principal(self, principal: Principal) -> bool:
        """Count one more socket of `principal`, unless it has as many as it may."""
        key = _principal_key(principal)
        if self.per_principal[key] >= self.settings.ws_max_connections_per_principal:
            return False
        self.per_principal[key] += 1
        return True

    def release_principal(self, principal: Principal) -> None:
        key = _principal_key(principal)
        self.per_principal[key] -= 1
        if self.per_principal[key] <= 0:
            del self.per_principal[key]

    async def shutdown(self, timeout_s: float) -> None:
        """Close every socket with 1001 and wait (up to `timeout_s`) for their handlers to finish."""
        self.closing = True
        sessions = list(self.sessions)
        for session in sessions:
            session.close(GOING_AWAY, "the gateway is shutting down", drain=True)
        handlers = [s.finished.wait() for s in sessions]
        if handlers:
            await asyncio.wait([asyncio.ensure_future(h) for h in handlers], timeout=timeout_s)


class SubscribeBucket:
    """`subscribe` messages of one connection: a token bucket of its own, so subscribe/complete churn is bounded."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tokens = float(settings.ws_subscribe_burst)
        self.at = time.monotonic()

    def wait(self) -> int:
        """Take a token for one `subscribe`: 0 when there was one, else the seconds until there is."""
        now = time.monotonic()
        rate = self.settings.ws_subscribe_per_s
        self.tokens = min(float(self.settings.ws_subscribe_burst), self.tokens + (now - self.at) * rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0
        return max(1, math.ceil((1 - self.tokens) / rate))
