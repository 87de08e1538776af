"""OpenTelemetry: a real `serve` exporting over OTLP/HTTP to a receiver the test runs.

The standard variables turn tracing on; the spans of one request (server, operation, and
the store round trips) share the trace id the client sent in `traceparent`, and that id
is in the error extensions and the JSON log lines.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.core import tracing
from tests.conftest import Stores
from tests.support.issuer import TestIssuer
from tests.support.serve import ServeProcess, serve_environment
from tests.support.servers import ServerThread

pytestmark = pytest.mark.slow

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
BOTH_STORES = (
    "query Both { organization { members(first: 2) { edges { node { id } } }"
    " campaigns(first: 2) { edges { node { name } } } } }"
)


class Receiver:
    """An OTLP/HTTP trace receiver: keeps every span it is sent, as plain dicts."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.server = ServerThread(Starlette(routes=[Route("/v1/traces", self.receive, methods=["POST"])]))

    async def receive(self, request: Request) -> Response:
        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.body())
        for resource_spans in message.resource_spans:
            service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}["service.name"]
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(
                        {
                            "name": span.name,
                            "trace": span.trace_id.hex(),
                            "id": span.span_id.hex(),
                            "parent": span.parent_span_id.hex(),
                            "service": service,
                            "attributes": {a.key: a.value.string_value or a.value.int_value for a in span.attributes},
                        }
                    )
        return Response(b"", media_type="application/x-protobuf")

    def of_trace(self, trace_id: str, until: Any, timeout_s: float = 60) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while True:
            spans = [s for s in self.spans if s["trace"] == trace_id]
            if until(spans) or time.monotonic() > deadline:
                return spans
            time.sleep(0.1)


@pytest.fixture(scope="module")
def traced(
    seeded: Stores, issuer: TestIssuer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServeProcess, Receiver]]:
    receiver = Receiver()
    receiver.server.start()
    env = serve_environment(seeded.app_url, seeded.system_url, seeded.mongo_url, seeded.mongo_db, issuer)
    env |= {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.server.url,
        "OTEL_SERVICE_NAME": "gateway-under-test",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    serve = ServeProcess(env, 1, tmp_path_factory.mktemp("traced") / "serve.log").start()
    try:
        yield serve.wait_ready(), receiver
    finally:
        serve.stop()
        receiver.server.stop()


def _descends(span: dict[str, Any], ancestor: dict[str, Any], spans: list[dict[str, Any]]) -> bool:
    by_id = {s["id"]: s for s in spans}
    while span["parent"]:
        if span["parent"] == ancestor["id"]:
            return True
        if span["parent"] not in by_id:
            return False
        span = by_id[span["parent"]]
    return False


def test_request_operation_and_store_spans_continue_the_clients_trace(
    traced: tuple[ServeProcess, Receiver], issuer: TestIssuer
) -> None:
    serve, receiver = traced
    headers = {"Authorization": f"Bearer {issuer.token('acme', 'analyst')}", "traceparent": TRACEPARENT}
    body = httpx.post(f"{serve.url}/graphql", json={"query": BOTH_STORES}, headers=headers, timeout=60).json()
    assert body["data"]["organization"]["campaigns"]["edges"], body

    def complete(spans: list[dict[str, Any]]) -> bool:
        systems = {s["attributes"].get("db.system") or s["attributes"].get("db.system.name") for s in spans}
        names = {s["name"] for s in spans}
        return {"postgresql", "mongodb"} <= systems and {"query Both", "POST /graphql"} <= names

    spans = receiver.of_trace(TRACE_ID, complete)
    assert complete(spans), [(s["name"], s["attributes"]) for s in spans]
    server = next(s for s in spans if s["name"] == "POST /graphql")
    assert server["parent"] == "00f067aa0ba902b7"  # the client's span
    assert server["attributes"]["http.response.status_code"] == 200
    operation = next(s for s in spans if s["name"] == "query Both")
    assert operation["parent"] == server["id"]
    assert operation["attributes"]["graphql.operation.type"] == "query"
    stores = [s for s in spans if s["attributes"].get("db.system") in ("postgresql", "mongodb")]
    # Every round trip belongs to the request (the organization lookup of authentication comes
    # before the operation); the operation's own reads of both stores are under its span.
    assert all(_descends(s, server, spans) for s in stores), stores
    under_operation = {s["attributes"]["db.system"] for s in stores if _descends(s, operation, spans)}
    assert under_operation == {"postgresql", "mongodb"}, [(s["name"], s["parent"]) for s in stores]
    assert {s["service"] for s in spans} == {"gateway-under-test"}
    statements = [str(s["attributes"].get("db.statement", "")) for s in stores]
    # Statements travel without their parameters: the tenancy claim is never in a span.
    assert not any("acme" in text for text in statements), statements


def test_errors_and_logs_carry_the_trace_id(traced: tuple[ServeProcess, Receiver], issuer: TestIssuer) -> None:
    serve, _ = traced
    headers = {"Authorization": f"Bearer {issuer.token('acme', 'analyst')}", "traceparent": TRACEPARENT}
    body = httpx.post(f"{serve.url}/graphql", json={"query": "{ nope }"}, headers=headers, timeout=60).json()
    assert body["errors"][0]["extensions"]["traceId"] == TRACE_ID, body
    refused = httpx.post(
        f"{serve.url}/graphql", json={"query": "{ __typename }"}, headers={"traceparent": TRACEPARENT}, timeout=60
    )
    assert refused.status_code == 401 and refused.json()["errors"][0]["extensions"]["traceId"] == TRACE_ID
    deadline = time.monotonic() + 30
    while f'"trace_id": "{TRACE_ID}"' not in serve.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert f'"trace_id": "{TRACE_ID}"' in serve.log.read_text()
    # Before authentication, only the W3C trace context is read, and only at a sane size: a huge
    # `baggage` or `tracestate` header neither fills the log nor costs more than a refusal.
    before = serve.log.stat().st_size
    hostile = {"baggage": ",".join(f"k{i}=v{i}" for i in range(8_000)), "tracestate": "x=" + "y" * 60_000}
    for _ in range(20):
        refused = httpx.post(f"{serve.url}/graphql", json={"query": "{ __typename }"}, headers=hostile, timeout=60)
        assert refused.status_code == 401
    assert serve.log.stat().st_size - before < 20_000


def test_tracing_is_off_without_the_variables() -> None:
    assert not tracing.wanted({})
    assert not tracing.wanted({"OTEL_SERVICE_NAME": "x"})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert not tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"})
    assert not tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"})
    # The suite's own gateways run without the variables: nothing was set up in this process.
    assert not tracing.enabled() and tracing.current_trace_id() is None
