"""Subscription events: announced through the stores, fanned out to this process's subscribers.

The bus is PostgreSQL `LISTEN/NOTIFY` on one channel, so every gateway on the
same stores hears every event and no other infrastructure is needed:

- A Brain mutation sends its notice with `pg_notify` inside its own
  transaction. PostgreSQL delivers it only when the transaction commits, so a
  rolled-back mutation announces nothing, and notices arrive in commit order.
- An audit event of a Brain mutation is announced by the outbox dispatcher in
  the transaction that marks it delivered: it is announced once it can be read
  from MongoDB, by whichever gateway delivered it.
- An enterprise mutation (MongoDB) is announced after its write succeeded, from
  a short PostgreSQL statement of its own. A gateway that dies between the two
  loses that announcement (the data is safe); that is the weaker guarantee of
  a store without transactions spanning both.
- Where MongoDB runs change streams (a replica set or a mongos), each gateway
  also watches workflow executions, so status changes written by the workers
  that run them reach subscribers too.

A notice carries the organization, the kind of event and ids only (far below
NOTIFY's 8000-byte limit), sealed with a key only the gateway holds
(gateway/core/bus.py): a notice that does not open, is stale or was seen before is
dropped, so SQL run as the request login can neither read the bus nor forge an
event. The receiving gateway loads the record once per organization, under
that organization's tenancy, and hands it to each local subscriber whose
permissions and filter admit it. Delivery is at most once: a notice sent while
a gateway's listening connection is down is not seen by its subscribers.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

import asyncpg
from bson import ObjectId

from gateway.core.bus import (
    CHANNEL,
    MAX_AGE_S,
    Notice,
    Replays,
    action_notice,
    audit_notice,
    channel,
    notify,
    notify_all,
    unseal,
)
from gateway.core.metrics import Metrics
from gateway.core.permissions import Permission, permissions_of
from gateway.stores.fence import SYSTEM_LOGIN, FenceKey, login_problems, session_settings
from gateway.stores.mongo import Document, MongoStore
from gateway.stores.postgres import PostgresStore

if TYPE_CHECKING:
    from gateway.core.auth import Principal

log = logging.getLogger("omnify.realtime")

__all__ = ["CHANNEL", "Notice", "Realtime", "action_notice", "audit_notice", "notify", "notify_all"]

MAX_PENDING_NOTICES = 10_000
MAX_BACKOFF_S = 30.0
LISTENER_CHECK_S = 15.0

# The subscription fields, as topics.
ACTION_LOGGED = "actionLogged"
SYNC_JOB_UPDATED = "syncJobUpdated"
WORKFLOW_EXECUTION_UPDATED = "workflowExecutionUpdated"
AUDIT_EVENT = "auditEvent"
BRAIN_STATE_UPDATED = "brainStateUpdated"


@dataclass(eq=False)
class Subscriber:
    """One running subscription of this process."""

    topic: str
    principal: Principal
    permission: Permission
    accepts: Callable[[Document], bool]
    queue: asyncio.Queue[Document]
    on_overflow: Callable[[], None]


class Connection(Protocol):
    """What the WebSocket side offers the bus: being closed when it cannot keep up."""

    def overflowed(self) -> None: ...


class Subscribing(Protocol):
    """What the bus needs of the subscriber's request (gateway.core.context.RequestContext, which
    holds the bus and so sits above it)."""

    @property
    def principal(self) -> Principal: ...

    async def after_write(self) -> None: ...


# The WebSocket connection running the current subscription (set by its handler).
current_connection: contextvars.ContextVar[Connection | None] = contextvars.ContextVar(
    "omnify_ws_connection", default=None
)


@dataclass
class Realtime:
    postgres: PostgresStore
    mongo: MongoStore
    listen_url: str
    metrics: Metrics
    queue_size: int = 256
    _by_org: dict[str, set[Subscriber]] = field(default_factory=dict)
    _notices: asyncio.Queue[Notice] = field(default_factory=lambda: asyncio.Queue(MAX_PENDING_NOTICES))
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _announcing: set[asyncio.Task[None]] = field(default_factory=set)
    listening: asyncio.Event = field(default_factory=asyncio.Event)
    listener_pid: int | None = None  # the listening connection's backend, while it is up
    _replays: Replays = field(default_factory=Replays)
    _dropped_logged_at: float = -MAX_AGE_S
    _key_reloaded_at: float = 0.0

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="realtime-listener"),
            asyncio.create_task(self._dispatch(), name="realtime-dispatcher"),
            asyncio.create_task(self._watch_executions(), name="realtime-execution-watch"),
        ]

    async def stop(self) -> None:
        if self._announcing:
            await asyncio.wait(list(self._announcing), timeout=self.postgres.timeout_s)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    # -- publishing outside a Brain transaction -----------------------------------------------

    def announce(self, notice: Notice) -> None:
        """Announce an event already stored in MongoDB, without delaying the caller's answer.

        In the background, so a slow or absent PostgreSQL never holds up a MongoDB-only
        mutation; an outage (or a shutdown) only costs the announcement.
        """
        self._spawn(self.publish(notice), "realtime-announce")

    async def publish(self, notice: Notice) -> None:
        try:
            key = await self.postgres.keys.current()
            async with self.postgres.system() as conn:
                await notify(conn, notice, key)
        except Exception as exc:
            log.warning("could not announce %s %s: %s", notice.kind, notice.id, exc)
            self.metrics.events_dropped.labels("bus_unavailable").inc()

    # -- subscribing --------------------------------------------------------------------------

    async def stream(
        self, ctx: Subscribing, topic: str, permission: Permission, accepts: Callable[[Document], bool]
    ) -> AsyncIterator[Document]:
        """The records of `topic` for the caller's organization that `accepts` admits, as they come."""
        connection = current_connection.get()
        subscriber = Subscriber(
            topic,
            ctx.principal,
            permission,
            accepts,
            asyncio.Queue(self.queue_size),
            connection.overflowed if connection is not None else lambda: None,
        )
        organization = ctx.principal.organization.enterprise_id
        self._by_org.setdefault(organization, set()).add(subscriber)
        try:
            while True:
                item = await subscriber.queue.get()
                yield item
                # The event was sent: hand back its database connection, forget cached loads.
                await ctx.after_write()
        finally:
            subscribers = self._by_org.get(organization)
            if subscribers is not None:
                subscribers.discard(subscriber)
                if not subscribers:
                    del self._by_org[organization]

    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._by_org.values())

    # -- receiving ----------------------------------------------------------------------------

    def _received(self, conn: object, pid: int, channel: str, payload: object) -> None:
        key = self.postgres.keys.cached
        opened = unseal(key, str(payload)) if key is not None else None
        now = time.time()
        if opened is None:
            self._drop("forged", f"a notice from backend {pid} that does not open with the fence key")
        elif abs(now - opened.at) > MAX_AGE_S:
            self._drop("stale", f"a notice sealed {now - opened.at:.0f} s ago (are the gateways' clocks apart?)")
        elif not self._replays.first_time(opened.nonce, time.monotonic()):
            self._drop("forged", f"a notice from backend {pid} already received (replayed)")
        else:
            self.receive(opened.notice)

    def _drop(self, reason: str, what: str) -> None:
        self.metrics.events_dropped.labels(reason).inc()
        now = time.monotonic()
        if now - self._dropped_logged_at >= MAX_AGE_S:  # a flood must not flood the log too
            self._dropped_logged_at = now
            log.warning("dropped %s on %s; later ones are counted in omnify_ws_events_dropped_total", what, CHANNEL)
        if reason == "forged" and now - self._key_reloaded_at >= MAX_AGE_S:
            # The key may have been replaced (a new database, a rotation): read it again, at most once a minute.
            self._key_reloaded_at = now
            self._spawn(self._reload_key(self.postgres.keys.cached), "realtime-key-reload")

    async def _reload_key(self, stale: FenceKey | None) -> None:
        try:
            await self.postgres.keys.reload(stale)
        except Exception as exc:
            log.warning("could not read the fence key again: %s", exc)

    def _spawn(self, job: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(job, name=name)
        self._announcing.add(task)
        task.add_done_callback(self._announcing.discard)

    def receive(self, notice: Notice) -> None:
        if notice.organization not in self._by_org:
            return  # nobody here listens to that organization
        try:
            self._notices.put_nowait(notice)
        except asyncio.QueueFull:
            self.metrics.events_dropped.labels("bus_overflow").inc()

    async def _listen(self) -> None:
        """Hold one listening connection outside the pool; reconnect with backoff when it goes."""
        delay = 0.5
        while True:
            conn: asyncpg.Connection[asyncpg.Record] | None = None
            try:
                # The key first: it names the channel, and what cannot be opened is dropped as forged.
                listened = channel(await self.postgres.keys.current())
                conn = await asyncpg.connect(
                    self.listen_url,
                    timeout=self.postgres.timeout_s,
                    server_settings=session_settings(self.postgres.statement_timeout_s, "omnify-gateway-events"),
                )
                problems = await login_problems(conn, SYSTEM_LOGIN)
                if problems:
                    raise RuntimeError("; ".join(problems))
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _, lost=lost: lost.set())  # type: ignore[misc]
                await conn.add_listener(listened, self._received)
                self.listener_pid = conn.get_server_pid()
                self.listening.set()
                delay = 0.5
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), LISTENER_CHECK_S)
                    if not lost.is_set():
                        # A connection cut without a FIN is only noticed by using it.
                        await conn.execute("SELECT 1", timeout=self.postgres.timeout_s)
                    cached = self.postgres.keys.cached
                    if cached is not None and channel(cached) != listened:  # a new key: its channel
                        log.info("the fence key changed; listening on its channel")
                        break
                else:
                    log.warning("the listening connection to PostgreSQL was closed; reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("cannot listen for events on PostgreSQL (retrying in %.1f s): %s", delay, exc)
            finally:
                self.listening.clear()
                self.listener_pid = None
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), timeout=2)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_S)

    async def _dispatch(self) -> None:
        # One notice at a time: subscribers see events in commit order.
        while True:
            notice = await self._notices.get()
            try:
                await self._deliver(notice)
            except Exception as exc:
                log.warning("could not load %s %s for subscribers: %s", notice.kind, notice.id, exc)
                self.metrics.events_dropped.labels("store_unavailable").inc()

    async def _deliver(self, notice: Notice) -> None:
        subscribers = list(self._by_org.get(notice.organization, ()))
        if not subscribers:
            return
        topics = {s.topic for s in subscribers}
        if notice.kind == "action":
            await self._deliver_action(notice, subscribers, topics)
        elif notice.kind == "audit":
            await self._deliver_audit(notice, subscribers, topics)

    async def _deliver_action(self, notice: Notice, subscribers: list[Subscriber], topics: set[str]) -> None:
        brain_id = subscribers[0].principal.organization.brain_id
        if brain_id is None or not topics & {ACTION_LOGGED, SYNC_JOB_UPDATED, BRAIN_STATE_UPDATED}:
            return
        # The loads run under the organization's tenancy, like any read of its subscribers.
        reader = self.postgres.reader(brain_id)
        try:
            if ACTION_LOGGED in topics:
                row = await reader.fetchrow(
                    "SELECT * FROM action_logs WHERE organization_id = $1 AND id = $2", brain_id, UUID(notice.id)
                )
                self._offer(subscribers, ACTION_LOGGED, dict(row.items()) if row is not None else None)
            job = notice.extra.get("job")
            if SYNC_JOB_UPDATED in topics and notice.extra.get("t") == "SyncJob" and isinstance(job, dict):
                row = await reader.fetchrow(
                    "SELECT * FROM sync_jobs WHERE organization_id = $1 AND id = $2",
                    brain_id,
                    UUID(str(notice.extra["ti"])),
                )
                state = {"status": job["status"], "records_synced": job["records"]}
                self._offer(subscribers, SYNC_JOB_UPDATED, {**dict(row.items()), **state} if row is not None else None)
            if BRAIN_STATE_UPDATED in topics and notice.extra.get("t") == "BrainState":
                # A published state never changes afterwards: the row read now is the one published.
                row = await reader.fetchrow(
                    "SELECT * FROM brain_states WHERE organization_id = $1 AND id = $2",
                    brain_id,
                    UUID(notice.extra["ti"]),
                )
                self._offer(subscribers, BRAIN_STATE_UPDATED, dict(row.items()) if row is not None else None)
        finally:
            await reader.close()

    async def _deliver_audit(self, notice: Notice, subscribers: list[Subscriber], topics: set[str]) -> None:
        tenant = self.mongo.tenant(notice.organization)
        event = await tenant.find_one("audit_logs", {"event_id": notice.id})
        if AUDIT_EVENT in topics:
            self._offer(subscribers, AUDIT_EVENT, event)
        target = (event or {}).get("target") or {}
        if WORKFLOW_EXECUTION_UPDATED in topics and target.get("type") == "WorkflowExecution":
            execution = await tenant.find_one("agentkit_executions", {"_id": ObjectId(str(target["id"]))})
            self._offer(subscribers, WORKFLOW_EXECUTION_UPDATED, execution)

    def _offer(self, subscribers: list[Subscriber], topic: str, record: Document | None) -> None:
        if record is None:
            # Gone by the time it was read (or never visible to this tenancy).
            self.metrics.events_dropped.labels("not_found").inc()
            return
        for subscriber in subscribers:
            if subscriber.topic != topic or subscriber.permission not in permissions_of(subscriber.principal):
                continue
            if not subscriber.accepts(record):
                continue
            try:
                subscriber.queue.put_nowait(record)
            except asyncio.QueueFull:
                self.metrics.events_dropped.labels("slow_consumer").inc()
                subscriber.on_overflow()

    # -- MongoDB change streams ---------------------------------------------------------------

    async def _watch_executions(self) -> None:
        """Status changes of workflow executions written by anyone, where MongoDB has change streams.

        Inserts are left out: the gateway's own runs are announced on the bus already.
        """
        delay = 0.5
        while True:
            try:
                if not await self.mongo.change_streams_supported():
                    return
                async for change in self.mongo.watch_updates("agentkit_executions"):
                    delay = 0.5
                    organization = str(change.get("organization_id", ""))
                    subscribers = list(self._by_org.get(organization, ()))
                    if subscribers:
                        self._offer(subscribers, WORKFLOW_EXECUTION_UPDATED, change)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("execution change stream stopped (retrying in %.1f s): %s", delay, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_S)
