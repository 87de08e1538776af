"""Audit events: written to a PostgreSQL outbox inside the mutation's transaction,
delivered to MongoDB `audit_logs` by a dispatcher running in every gateway.

Delivery is at least once, in batches: a claimed batch goes to MongoDB as one
unordered insert per organization in it, and is marked delivered in one
statement only after MongoDB acknowledged it. MongoDB deduplicates by
`event_id` (a unique index), so an event it already holds (delivered before a
crash kept the mark from committing) counts as delivered: exactly once in
effect. Several gateways can dispatch at once: each claims a batch with
`FOR UPDATE SKIP LOCKED`. While MongoDB is down, events wait with exponential
backoff and nothing is lost; an event MongoDB refuses waits alone, its batch
goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from pymongo.errors import BulkWriteError

from gateway.core import realtime, snapshot
from gateway.core.audit import audit_event as audit_event  # re-exported: callers take it from here
from gateway.core.mongo_mutations import deliver_pending_audits
from gateway.errors import StoreUnavailable
from gateway.stores.mongo import Document, MongoStore
from gateway.stores.postgres import PostgresStore, TenantConnection

log = logging.getLogger("omnify.outbox")

MAX_BACKOFF_S = 30.0
MAX_BATCH = 1000  # what `outbox_claim` hands out at most
AUDIT_LOGS = "audit_logs"
# MongoDB's duplicate key errors: the event is there already.
DUPLICATE_KEY = frozenset({11000, 11001})


async def enqueue(tx: TenantConnection, event: dict[str, Any]) -> None:
    await tx.execute(
        "INSERT INTO outbox (event_id, organization_key, document) VALUES ($1, $2, $3)",
        uuid.UUID(event["event_id"]),
        event["organization_id"],
        snapshot.encode(event),
    )


async def enqueue_many(tx: TenantConnection, events: list[dict[str, Any]]) -> None:
    """`enqueue` for the events of a mutation that changed many objects, in one statement."""
    await tx.execute(
        "INSERT INTO outbox (event_id, organization_key, document) "
        "SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[]::jsonb[])",
        [uuid.UUID(event["event_id"]) for event in events],
        [event["organization_id"] for event in events],
        [json.dumps(snapshot.encode(event)) for event in events],
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


@dataclass(frozen=True)
class Lag:
    """How far delivery is behind, as last measured."""

    pending: int  # events not delivered yet, every organization's
    oldest_s: float  # how long the first queued of them has waited (0 when none)
    measured_at: float  # time.monotonic()


@dataclass
class OutboxDispatcher:
    postgres: PostgresStore
    mongo: MongoStore
    poll_interval_s: float = 1.0
    batch_size: int = 500
    sweep_interval_s: float = 30.0
    lag_interval_s: float = 5.0
    on_delivered: Callable[[float], None] = lambda amount: None
    on_batch: Callable[[], None] = lambda: None  # one insert into MongoDB answered
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    delivered: int = 0
    lag: Lag | None = None

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(), name="outbox-dispatcher"),
            asyncio.create_task(self._watch_lag(), name="outbox-lag"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

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
                # While a store is unreachable, wait longer and longer (a committed
                # mutation's wake-up still comes through: PostgreSQL answered it).
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=dispatch.delay(self.poll_interval_s))
                self._wake.clear()

    async def dispatch_once(self) -> bool:
        """Deliver one batch; True when a full batch was claimed, some of it went out, and more may wait.

        Raises `StoreUnavailable` when MongoDB could not be reached, after the
        batch's events were postponed, so the caller backs off.
        """
        # Every organization's events, so on the system login, through the owner-defined
        # outbox functions: it may claim and mark rows there, never read or change them directly.
        key = await self.postgres.keys.current()
        async with self.postgres.system() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT id, organization_key, document, attempts FROM public.outbox_claim($1)",
                min(self.batch_size, MAX_BATCH),
            )
            documents, unreadable = _documents(rows)
            attempts = {row["id"]: row["attempts"] for row in rows}
            failed, outage = await self._deliver([r for r in rows if r["id"] in documents], documents)
            failed.update(unreadable)
            if failed:
                _log_refused(rows, failed, outage)
                await conn.execute(
                    "SELECT public.outbox_postpone_batch($1::bigint[], $2::text[], $3::float8[])",
                    list(failed),
                    list(failed.values()),
                    [_backoff(attempts[event]) for event in failed],
                )
            delivered = [row for row in rows if row["id"] not in failed]
            if delivered:
                # Announced with the delivery's commit, when subscribers can read the events.
                notices = [
                    realtime.audit_notice(r["organization_key"], documents[r["id"]]["event_id"]) for r in delivered
                ]
                await realtime.notify_all(conn, notices, key)
                await conn.execute("SELECT public.outbox_mark_delivered($1::bigint[])", [r["id"] for r in delivered])
        if delivered:
            self.delivered += len(delivered)
            self.on_delivered(len(delivered))
        if outage is not None:
            raise outage
        # Refused events are postponed, so they do not hold up the next batch.
        return len(rows) == min(self.batch_size, MAX_BATCH) and len(failed) < len(rows)

    async def _deliver(
        self, rows: list[asyncpg.Record], documents: dict[int, Document]
    ) -> tuple[dict[int, str], StoreUnavailable | None]:
        """Insert the claimed events, one insert per organization: the ids of those MongoDB did not take, with why."""
        groups: dict[str, list[int]] = {}
        for row in rows:
            groups.setdefault(row["organization_key"], []).append(row["id"])
        failed: dict[int, str] = {}
        outage: StoreUnavailable | None = None
        for organization, ids in groups.items():
            refused: dict[int, str] = {}
            if outage is None:
                try:
                    refused = await self._insert(organization, [documents[i] for i in ids])
                except StoreUnavailable as exc:
                    outage = exc
            if outage is not None:  # the rest of the batch waits too, without asking a store that is down
                refused = dict.fromkeys(range(len(ids)), f"StoreUnavailable: {outage}")
            failed.update((ids[position], error[:500]) for position, error in refused.items())
        return failed, outage

    async def _insert(self, organization: str, documents: list[Document]) -> dict[int, str]:
        """Insert one organization's events; the positions of those MongoDB refused, with why.

        An event MongoDB holds already (its `event_id` is there) counts as inserted.
        """
        try:
            await self.mongo.tenant(organization).insert_many(AUDIT_LOGS, documents, ordered=False)
        except BulkWriteError as exc:
            self.on_batch()
            if exc.details.get("writeConcernErrors"):  # written, but not as durably as asked: send again
                return dict.fromkeys(range(len(documents)), f"write concern: {exc.details['writeConcernErrors']}")
            return {
                error["index"]: f"MongoDB error {error.get('code')}: {error.get('errmsg', '')}"
                for error in exc.details.get("writeErrors", [])
                if error.get("code") not in DUPLICATE_KEY
            }
        except StoreUnavailable:
            raise
        except Exception as exc:
            # The driver refused the whole call (a document it cannot encode, say): send
            # each alone, so only the one at fault waits.
            if len(documents) == 1:
                return {0: f"{type(exc).__name__}: {exc}"}
            refused: dict[int, str] = {}
            for position, document in enumerate(documents):
                refused.update((position, error) for error in (await self._insert(organization, [document])).values())
            return refused
        self.on_batch()
        return {}

    async def measure_lag(self) -> Lag:
        async with self.postgres.system() as conn:
            rows = await conn.fetch("SELECT pending, oldest_s FROM public.outbox_lag()")
        self.lag = Lag(int(rows[0]["pending"]), float(rows[0]["oldest_s"]), time.monotonic())
        return self.lag

    async def _watch_lag(self) -> None:
        while True:
            try:
                await self.measure_lag()
            except Exception as exc:  # PostgreSQL is down: the dispatch loop says so; keep the last figures
                log.debug("outbox lag not measured: %s", exc)
            await asyncio.sleep(self.lag_interval_s)

    def readiness(self) -> dict[str, Any]:
        """The lag for `/readyz`: a detail, never a reason to be unready (taking a gateway out of
        rotation would deliver no event sooner, and would refuse requests that work)."""
        if self.lag is None:
            return {"measured": False}
        return {
            "measured": True,
            "pending": self.lag.pending,
            "oldestPendingSeconds": round(self.lag.oldest_s, 1),
            "measuredSecondsAgo": round(time.monotonic() - self.lag.measured_at, 1),
        }


def _documents(rows: list[asyncpg.Record]) -> tuple[dict[int, Document], dict[int, str]]:
    """The claimed events' documents, and the ids of those that cannot be read, with why.

    A row is written by the request login in a tenant's transaction, so SQL run as that login
    can write one of its own organization's rows with any content. An unreadable one must wait
    on its own (postponed like a refused event, logged at ERROR), never fail the whole batch:
    it would be claimed first again and hold back every organization's audit trail.
    """
    documents: dict[int, Document] = {}
    unreadable: dict[int, str] = {}
    for row in rows:
        try:
            document: Document = snapshot.decode(row["document"])
            if not isinstance(document, dict) or not isinstance(document.get("event_id"), str):
                raise ValueError("not an audit event with an event_id")
            uuid.UUID(document["event_id"])
        except Exception as exc:
            unreadable[row["id"]] = f"unreadable event: {type(exc).__name__}: {exc}"[:500]
            log.error("outbox event %s cannot be read and waits: %s", row["id"], unreadable[row["id"]])
            continue
        document.pop("organization_id", None)  # the tenant scope supplies it
        documents[row["id"]] = document
    return documents, unreadable


def _log_refused(rows: list[asyncpg.Record], failed: dict[int, str], outage: StoreUnavailable | None) -> None:
    # An outage is logged by the dispatch loop; an event MongoDB refuses, the first time only.
    first = [row["id"] for row in rows if row["id"] in failed and row["attempts"] == 0]
    if outage is None and first:
        log.warning(
            "%d audit events refused by MongoDB, retried with backoff; the first: %s", len(first), failed[first[0]]
        )


def _backoff(attempts: int) -> float:
    return min(MAX_BACKOFF_S, 0.5 * 2.0 ** min(attempts, 10))
