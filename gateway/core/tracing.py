"""OpenTelemetry traces, off unless the standard `OTEL_*` variables ask for them.

When on, each GraphQL request is a server span continued from the client's W3C
`traceparent`, each operation a child span, and each store round trip a grandchild made
by the maintained asyncpg and PyMongo instrumentations (statement text without its
parameters; MongoDB commands by name only). Spans leave through the OTLP/HTTP exporter
configured by the usual variables (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_SERVICE_NAME`,
`OTEL_BSP_*`, ...). The trace id also goes into JSON log lines and error `extensions`.

When off, nothing of the SDK is imported and the hooks below cost one attribute read.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace

_ON = False
_tracer = trace.get_tracer("omnify.gateway")

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
MAX_HEADER = 512  # characters of `traceparent` / `tracestate` read (W3C: tracestate is at most 32 entries)


def wanted(env: Mapping[str, str]) -> bool:
    """Whether the environment asks for traces: an OTLP endpoint, or `OTEL_TRACES_EXPORTER=otlp`."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    return exporter == "otlp" or any(env.get(name, "").strip() for name in ENDPOINT_VARIABLES)


def start(env: Mapping[str, str] | None = None) -> Callable[[], None] | None:
    """Set up the SDK and the store instrumentations when wanted; returns the shutdown (flush) hook.

    Must run before the store clients are created: PyMongo's command listener applies to
    clients made after it is registered.
    """
    global _ON, _tracer
    if not wanted(os.environ if env is None else env):
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create()  # reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": "omnify-gateway"}))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    PymongoInstrumentor().instrument(tracer_provider=provider)
    _tracer = provider.get_tracer("omnify.gateway")
    _ON = True

    def shutdown() -> None:
        provider.shutdown()  # exports what is still queued

    return shutdown


def enabled() -> bool:
    return _ON


@contextmanager
def server_span(name: str, headers: Mapping[str, str], attributes: dict[str, Any]) -> Iterator[Any]:
    """The span of one request, continuing the caller's `traceparent` (or a new trace)."""
    # W3C trace context only (no baggage: its propagator logs a whole malformed header, and the
    # gateway reads nothing from it), and only headers of a sane size: this runs before the
    # caller is authenticated.
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier = {k: v for k, v in headers.items() if k in ("traceparent", "tracestate") and len(v) <= MAX_HEADER}
    parent = TraceContextTextMapPropagator().extract(carrier)
    token = otel_context.attach(parent)
    try:
        with _tracer.start_as_current_span(name, kind=trace.SpanKind.SERVER, attributes=attributes) as span:
            yield span
    finally:
        otel_context.detach(token)


@contextmanager
def operation_span(operation_type: str, operation_name: str | None) -> Iterator[None]:
    """A child span per GraphQL operation (`query Dashboard`), when tracing is on."""
    if not _ON:
        yield
        return
    name = f"{operation_type} {operation_name}" if operation_name else operation_type
    attributes = {"graphql.operation.type": operation_type, "graphql.operation.name": operation_name or ""}
    with _tracer.start_as_current_span(name, attributes=attributes):
        yield


def current_trace_id() -> str | None:
    """The 32-hex trace id of the running span, when tracing is on and a span runs."""
    if not _ON:
        return None
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else None
