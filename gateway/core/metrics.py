"""Prometheus metrics: requests by operation and outcome, latency, store round trips, pool use, event loop blocks.

Each app has its own registry, so several gateways in one process (the tests)
do not collide.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
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


class _PoolCollector(Collector):
    def __init__(self, read: Callable[[], tuple[int, int, int]]) -> None:
        self.read = read

    def collect(self) -> Iterable[GaugeMetricFamily]:
        size, idle, maximum = self.read()
        gauge = GaugeMetricFamily(
            "omnify_pg_pool_connections", "PostgreSQL pool connections by state", labels=["state"]
        )
        gauge.add_metric(["open"], size)
        gauge.add_metric(["idle"], idle)
        gauge.add_metric(["in_use"], size - idle)
        gauge.add_metric(["max"], maximum)
        yield gauge


class _CircuitCollector(Collector):
    def __init__(self, circuits: list[Circuit], waiting: Callable[[], int]) -> None:
        self.circuits = circuits
        self.waiting = waiting

    def collect(self) -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
        state = GaugeMetricFamily(
            "omnify_store_circuit_open", "1 while a store's circuit is open (its calls fail at once)", labels=["store"]
        )
        opened = CounterMetricFamily("omnify_store_circuit_opened", "Times a store's circuit opened", labels=["store"])
        for circuit in self.circuits:
            state.add_metric([circuit.store], 1 if circuit.is_open else 0)
            opened.add_metric([circuit.store], circuit.opened_count)
        yield state
        yield opened
        yield GaugeMetricFamily(
            "omnify_pg_pool_waiting", "Requests waiting for a PostgreSQL pool connection", value=self.waiting()
        )


class _FairShareCollector(Collector):
    """Admission slots and queue of this worker, and whether rate limits are shared through Redis."""

    def __init__(self, admission: Callable[[], tuple[int, int]], redis_up: Callable[[], int | None]) -> None:
        self.admission = admission
        self.redis_up = redis_up

    def collect(self) -> Iterable[GaugeMetricFamily]:
        in_flight, waiting = self.admission()
        yield GaugeMetricFamily(
            "omnify_admission_in_flight", "Requests holding an admission slot of this worker", value=in_flight
        )
        yield GaugeMetricFamily(
            "omnify_admission_waiting", "Requests waiting in their organization's admission queue", value=waiting
        )
        up = self.redis_up()
        if up is not None:
            yield GaugeMetricFamily(
                "omnify_rate_limit_redis_up",
                "1 while rate limits are shared through Redis, 0 while they fall back to this process",
                value=up,
            )


class _OutboxCollector(Collector):
    """The audit outbox's lag as last measured (nothing before the first measurement)."""

    def __init__(self, read: Callable[[], tuple[int, float] | None]) -> None:
        self.read = read

    def collect(self) -> Iterable[GaugeMetricFamily]:
        lag = self.read()
        if lag is None:
            return
        pending, oldest_s = lag
        yield GaugeMetricFamily(
            "omnify_outbox_pending", "Audit events in the outbox not delivered to MongoDB yet", value=pending
        )
        yield GaugeMetricFamily(
            "omnify_outbox_lag_seconds", "How long the first queued undelivered audit event has waited", value=oldest_s
        )


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    _operations: set[str] = field(default_factory=set)

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
        self.ws_connections = Gauge(
            "omnify_ws_connections", "Open WebSocket connections (graphql-transport-ws)", registry=self.registry
        )
        self.ws_subscriptions = Gauge("omnify_ws_subscriptions", "Active subscriptions", registry=self.registry)
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

    def watch_pool(self, read: Callable[[], tuple[int, int, int]]) -> None:
        self.registry.register(_PoolCollector(read))

    def watch_loop(self, lag_s: Callable[[], float]) -> None:
        lag = Gauge(
            "omnify_event_loop_lag_seconds",
            "How late the event loop's heartbeat is when scraped (the scrape itself runs on the loop)",
            registry=self.registry,
        )
        lag.set_function(lag_s)

    def watch_circuits(self, circuits: list[Circuit], waiting: Callable[[], int]) -> None:
        self.registry.register(_CircuitCollector(circuits, waiting))

    def watch_fair_share(self, admission: Callable[[], tuple[int, int]], redis_up: Callable[[], int | None]) -> None:
        self.registry.register(_FairShareCollector(admission, redis_up))

    def watch_outbox(self, read: Callable[[], tuple[int, float] | None]) -> None:
        self.registry.register(_OutboxCollector(read))

    def observe(self, operation: str, outcome: str, seconds: float, trace: StoreTrace) -> None:
        operation = self._label(operation)
        self.requests.labels(operation, outcome).inc()
        self.latency.labels(operation).observe(seconds)
        self.round_trips.labels("postgres").observe(trace.postgres.round_trips)
        self.round_trips.labels("mongo").observe(trace.mongo.round_trips)

    async def endpoint(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type="text/plain; version=0.0.4; charset=utf-8")
