"""Prometheus metrics: requests by operation and outcome, latency, store round trips, pool use, event loop blocks.

Each app has its own registry, so several gateways in one process (the tests)
do not collide. Under `serve`, PROMETHEUS_MULTIPROC_DIR names a directory where
every worker writes its values (prometheus_client's multiprocess mode), and a
scrape answered by any worker adds up all of them: counters and histograms over
every worker that ever ran, gauges over the live ones (each gauge says how, by its
`multiprocess_mode`). What is read from live objects (pools, circuits, admission,
the loop) is copied into gauges by `refresh`: at each scrape for the worker that
answers, and every SAMPLE_S by each worker for the others.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import Response

from gateway.stores.circuit import Circuit
from gateway.stores.tracing import StoreTrace

MAX_OPERATIONS = 200
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TRIP_BUCKETS = (0, 1, 2, 3, 5, 8, 13, 21, 34)
BLOCK_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)
WAIT_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SAMPLE_S = 1.0
# How the live workers' values of a gauge combine in one scrape.
LiveMode = Literal["livesum", "livemax", "livemin"]


def multiprocess_dir() -> str | None:
    """The directory the workers of this `serve` share their metrics through, if any."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    served: int = 0  # GraphQL requests this process answered (for /healthz: how the workers share the load)
    _operations: set[str] = field(default_factory=set)
    _samplers: list[Callable[[], None]] = field(default_factory=list)
    _sampling: threading.Event = field(default_factory=threading.Event)
    _refreshing: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "omnify_graphql_requests",
            "GraphQL requests by operation and outcome",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "omnify_graphql_request_seconds",
            "GraphQL request latency",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.round_trips = Histogram(
            "omnify_store_round_trips_per_request",
            "Store round trips per GraphQL request",
            ["store"],
            buckets=TRIP_BUCKETS,
            registry=self.registry,
        )
        self.pool_wait = Histogram(
            "omnify_pg_pool_wait_seconds",
            "Time spent waiting for a PostgreSQL pool connection",
            buckets=WAIT_BUCKETS,
            registry=self.registry,
        )
        self.audit_delivered = Counter(
            "omnify_audit_events_delivered", "Audit events delivered to MongoDB", registry=self.registry
        )
        self.outbox_batches = Counter(
            "omnify_outbox_batches",
            "Inserts of audit events into MongoDB answered (one per organization in a claimed batch)",
            registry=self.registry,
        )
        self.ws_connections = self._gauge("omnify_ws_connections", "Open WebSocket connections (graphql-transport-ws)")
        self.ws_subscriptions = self._gauge("omnify_ws_subscriptions", "Active subscriptions")
        self.events_delivered = Counter(
            "omnify_ws_events_delivered", "Subscription events sent to clients", registry=self.registry
        )
        self.loop_blocks = Counter(
            "omnify_event_loop_blocks",
            "Times the worker's event loop was seen blocked past OMNIFY_LOOP_WARN_S (every request waited)",
            registry=self.registry,
        )
        self.loop_block_seconds = Histogram(
            "omnify_event_loop_block_seconds",
            "How long the event loop stayed blocked, per block past OMNIFY_LOOP_WARN_S (observed once it turns again)",
            buckets=BLOCK_BUCKETS,
            registry=self.registry,
        )
        self.events_dropped = Counter(
            "omnify_ws_events_dropped",
            "Subscription events not delivered, by reason (slow consumer, record gone, bus overflow, forged or stale notice)",
            ["reason"],
            registry=self.registry,
        )

        # Fair share: no label names an organization or a principal (their number has no bound).
        self.admission_wait = Histogram(
            "omnify_admission_wait_seconds",
            "Time requests waited in their organization's admission queue",
            buckets=WAIT_BUCKETS,
            registry=self.registry,
        )
        self.admission_refused = Counter(
            "omnify_admission_refused",
            "Requests refused admission (HTTP 429), by reason (queue_full, timeout)",
            ["reason"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "omnify_rate_limited",
            "Requests refused by a rate limit (HTTP 429), by the limit (principal, organization)",
            ["limit"],
            registry=self.registry,
        )

    def _label(self, operation: str) -> str:
        # Operation names come from clients: keep the label set bounded and tidy.
        name = operation if NAME.fullmatch(operation) else "invalid"
        if name not in self._operations:
            if len(self._operations) >= MAX_OPERATIONS:
                return "other"
            self._operations.add(name)
        return name

    def _gauge(self, name: str, documentation: str, labels: tuple[str, ...] = (), mode: LiveMode = "livesum") -> Gauge:
        # A worker's gauge counts only while it lives; `mode` says how the live workers' values combine.
        return Gauge(name, documentation, labels, registry=self.registry, multiprocess_mode=mode)

    def watch_pool(self, read: Callable[[], tuple[int, int, int]]) -> None:
        gauge = self._gauge("omnify_pg_pool_connections", "PostgreSQL pool connections by state", ("state",))

        def sample() -> None:
            size, idle, maximum = read()
            for state, value in (("open", size), ("idle", idle), ("in_use", size - idle), ("max", maximum)):
                gauge.labels(state).set(value)

        self._samplers.append(sample)

    def watch_loop(self, lag_s: Callable[[], float]) -> None:
        lag = self._gauge(
            "omnify_event_loop_lag_seconds",
            "How late the event loop's heartbeat is, the latest worker's (sampled by a thread: a blocked loop shows)",
            mode="livemax",
        )
        self._samplers.append(lambda: lag.set(lag_s()))

    def watch_circuits(self, circuits: list[Circuit], waiting: Callable[[], int]) -> None:
        state = self._gauge(
            "omnify_store_circuit_open",
            "1 while a store's circuit is open (its calls fail at once) in any worker",
            ("store",),
            mode="livemax",
        )
        opened = Counter(
            "omnify_store_circuit_opened", "Times a store's circuit opened", ["store"], registry=self.registry
        )
        waits = self._gauge("omnify_pg_pool_waiting", "Requests waiting for a PostgreSQL pool connection")
        counted = {circuit.store: 0 for circuit in circuits}

        def sample() -> None:
            for circuit in circuits:
                state.labels(circuit.store).set(1 if circuit.is_open else 0)
                # The circuit counts its openings itself; the counter takes what is new since the last sample.
                opened.labels(circuit.store).inc(circuit.opened_count - counted[circuit.store])
                counted[circuit.store] = circuit.opened_count
            waits.set(waiting())

        self._samplers.append(sample)

    def watch_fair_share(self, admission: Callable[[], tuple[int, int]], redis_up: Callable[[], int | None]) -> None:
        in_flight = self._gauge("omnify_admission_in_flight", "Requests holding an admission slot")
        waiting = self._gauge("omnify_admission_waiting", "Requests waiting in their organization's admission queue")
        # Only when Redis is configured; 0 if any worker has fallen back to limits of its own.
        shared = (
            None
            if redis_up() is None
            else self._gauge(
                "omnify_rate_limit_redis_up",
                "1 while rate limits are shared through Redis, 0 while a worker falls back to its own",
                mode="livemin",
            )
        )

        def sample() -> None:
            slots, queued = admission()
            in_flight.set(slots)
            waiting.set(queued)
            up = redis_up()
            if shared is not None and up is not None:
                shared.set(up)

        self._samplers.append(sample)

    def refresh(self) -> None:
        """Copy what the watched objects say now into their gauges."""
        with self._refreshing:
            for sample in self._samplers:
                sample()

    def start_sampling(self) -> None:
        """Under `serve`, refresh every SAMPLE_S from a thread, so that a scrape answered by another
        worker sees this one's values (a blocked event loop included)."""
        if multiprocess_dir() is None:
            return
        self._sampling.clear()
        threading.Thread(target=self._sample, name="metrics-sampler", daemon=True).start()

    def stop_sampling(self) -> None:
        self._sampling.set()

    def _sample(self) -> None:
        while not self._sampling.wait(SAMPLE_S):
            self.refresh()

    def watch_outbox(self, read: Callable[[], tuple[int, float] | None]) -> None:
        # Every worker measures the same table: the largest of the live workers' figures is the freshest.
        pending = self._gauge(
            "omnify_outbox_pending", "Audit events in the outbox not delivered to MongoDB yet", mode="livemax"
        )
        lag = self._gauge(
            "omnify_outbox_lag_seconds", "How long the first queued undelivered audit event has waited", mode="livemax"
        )

        def sample() -> None:
            measured = read()
            if measured is not None:  # nothing before the first measurement
                pending.set(measured[0])
                lag.set(measured[1])

        self._samplers.append(sample)

    def observe(self, operation: str, outcome: str, seconds: float, trace: StoreTrace) -> None:
        operation = self._label(operation)
        self.served += 1
        self.requests.labels(operation, outcome).inc()
        self.latency.labels(operation).observe(seconds)
        self.round_trips.labels("postgres").observe(trace.postgres.round_trips)
        self.round_trips.labels("mongo").observe(trace.mongo.round_trips)

    def exposition(self) -> bytes:
        """The text of a scrape: this process's metrics, or under `serve` every worker's."""
        self.refresh()
        shared = multiprocess_dir()
        if shared is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=shared)  # type: ignore[no-untyped-call]
        return generate_latest(registry)

    async def endpoint(self, request: Request) -> Response:
        return Response(self.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")
