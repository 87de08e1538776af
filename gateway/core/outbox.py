"""Audit events: written to a PostgreSQL outbox inside the mutation's transaction,
delivered to MongoDB `audit_logs` by a dispatcher running in every gateway.

Delivery is at least once: an event is marked delivered only after MongoDB
acknowledged it, and MongoDB deduplicates by `event_id` (a unique index and
an upsert that only ever inserts). Several gateways can dispatch at once:
each claims a batch with `FOR UPDATE SKIP LOCKED`. While MongoDB is down,
events wait with exponential backoff and nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.core import realtime, snapshot
from gateway.core.audit import audit_event as audit_event  # re-exported: callers take it from here
from gateway.core.mongo_mutations import deliver_pending_audits
from gateway.stores.mongo import MongoStore
from gateway.stores.postgres import PostgresStore, TenantConnection

log = logging.getLogger("omnify.outbox")

MAX_BACKOFF_S = 30.0


async def enqueue(tx: TenantConnection, event: dict[str, Any]) -> None:
    await tx.execute(
        "INSERT INTO outbox (event_id, organization_key, document) VALUES ($1, $2, $3)",
        uuid.UUID(event["event_id"]),
        event["organization_id"],
        snapshot.encode(event),
    )


@dataclass
class _Failures:
    """Consecutive failures of one background job: logged when they start and end, not on every attempt."""

    job: str
    count: int = 0

    def failed(self, exc: Exception) -> None:
        self.count += 1
        if self.count == 1:
            log.warning("%s failed: %s; retrying with backoff, logging again when it recovers", self.job, exc)

    def succeeded(self) -> None:
        if self.count:
            log.warning("%s recovered after %d failed attempts", self.job, self.count)
        self.count = 0

    def delay(self, base_s: float) -> float:
        return base_s if not self.count else min(MAX_BACKOFF_S, base_s * 2 ** min(self.count, 10))


@dataclass
class OutboxDispatcher:
    postgres: PostgresStore
    mongo: MongoStore
    poll_interval_s: float = 1.0
    batch_size: int = 200
    sweep_interval_s: float = 30.0
    on_delivered: Callable[[float], None] = lambda amount: None
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    delivered: int = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def wake(self) -> None:
        """Deliver soon: called after a mutation commits."""
        self._wake.set()

    async def _run(self) -> None:
        last_sweep = 0.0
        dispatch, sweep = _Failures("outbox dispatch"), _Failures("pending audit sweep")
        while True:
            try:
                more = await self.dispatch_once()
                dispatch.succeeded()
            except Exception as exc:  # a store is down; a later round retries
                dispatch.failed(exc)
                more = False
            if time.monotonic() - last_sweep > self.sweep_interval_s:
                last_sweep = time.monotonic()
                try:
                    # MongoDB-only mutations carry their audit event on the changed
                    # document; finish those a crashed process left behind.
                    await deliver_pending_audits(self.mongo)
                    sweep.succeeded()
                except Exception as exc:
                    sweep.failed(exc)
            if not more:
                # While PostgreSQL is unreachable, wait longer and longer (a committed
                # mutation's wake-up still comes through: PostgreSQL answered it).
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=dispatch.delay(self.poll_interval_s))
                self._wake.clear()

    async def dispatch_once(self) -> bool:
        """Deliver one batch; True when a full batch went out and more may wait."""
        # Every organization's events, so on the system login, through the owner-defined
        # outbox functions: it may claim and mark rows there, never read or change them directly.
        key = await self.postgres.keys.current()
        async with self.postgres.system() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT id, organization_key, document, attempts FROM public.outbox_claim($1)", self.batch_size
            )
            delivered: list[int] = []
            for row in rows:
                document = snapshot.decode(row["document"])
                event_id = document.pop("event_id")
                document.pop("organization_id", None)  # the tenant scope supplies it
                try:
                    await self.mongo.tenant(row["organization_key"]).update_one(
                        "audit_logs", {"event_id": event_id}, {"$setOnInsert": document}, upsert=True
                    )
                except Exception as exc:
                    delay = min(MAX_BACKOFF_S, 0.5 * 2 ** row["attempts"])
                    await conn.execute(
                        "SELECT public.outbox_postpone($1, $2, $3)",
                        row["id"],
                        f"{type(exc).__name__}: {exc}"[:500],
                        delay,
                    )
                    # The store is most likely down: leave the rest of the batch for later.
                    break
                delivered.append(row["id"])
                # Announced with the delivery's commit, when subscribers can read the event.
                await realtime.notify(conn, realtime.audit_notice(row["organization_key"], event_id), key)
            if delivered:
                await conn.execute("SELECT public.outbox_mark_delivered($1::bigint[])", delivered)
                self.delivered += len(delivered)
                self.on_delivered(len(delivered))
        return len(rows) == self.batch_size and len(delivered) == len(rows)
