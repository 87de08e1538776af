"""Subscriptions over WebSocket (graphql-transport-ws), across two gateway processes on the same stores.

Process A is the suite's in-process gateway; process B is `omnify-gateway serve`
started here. Clients are real WebSocket clients speaking the protocol.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket as socket_module
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from gateway.http.graphiql import CSRF_PAYLOAD_KEY
from gateway.http.login import SESSION_COOKIE
from gateway.ops.embedded import free_port
from tests import test_login
from tests.conftest import Stores, gql
from tests.support.issuer import AUDIENCE, TestIssuer
from tests.support.servers import ServerThread
from tests.test_actions import SHIFT
from tests.test_enterprise_mutations import RUN, raw, seeded_workflow
from tests.test_ingestion import INGEST, creatives, days_ago, finish, partner, row, start_job
from tests.test_login import LoginGateway, log_in

ROOT = Path(__file__).resolve().parent.parent
# The GraphiQL login tests' gateway (dev issuer and login client) and cookie-keeping browser.
login_gateway = test_login.login_gateway
browser = test_login.browser
ORG = "initech"  # where the actions happen
OTHER = "acme"
PROTOCOL = "graphql-transport-ws"
ACTIONS = """subscription($filter: ActionLoggedFilter) { actionLogged(filter: $filter) {
  id action status targetType targetId payload result } }"""
SYNC_JOB = "subscription($id: ID) { syncJobUpdated(id: $id) { id status recordsSynced } }"
AUDIT = "subscription { auditEvent { action targetRef { type id } actor { id } eventId } }"
EXECUTIONS = "subscription { workflowExecutionUpdated { id status workflow { id } } }"


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/graphql"


class Client:
    """A graphql-transport-ws client over a real socket."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send(orjson.dumps(message).decode())

    async def receive(self, within: float = 10.0) -> dict[str, Any]:
        while True:
            message: dict[str, Any] = orjson.loads(await asyncio.wait_for(self.socket.recv(), within))
            if message["type"] == "ping":
                await self.send({"type": "pong"})
                continue
            return message

    async def init(self, token: str | None, **payload: Any) -> dict[str, Any]:
        body = {"Authorization": f"Bearer {token}"} if token else {}
        await self.send({"type": "connection_init", "payload": {**body, **payload}})
        return await self.receive()

    async def subscribe(self, operation_id: str, query: str, variables: dict[str, Any] | None = None) -> None:
        await self.send(
            {"id": operation_id, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}}
        )

    async def closed(self, within: float = 10.0) -> tuple[int | None, str]:
        """Wait for the server to close the socket; (code, reason)."""
        try:
            async with asyncio.timeout(within):
                while True:
                    await self.socket.recv()
        except ConnectionClosed as closed:
            return (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else (None, "")
        raise AssertionError("unreachable")

    async def silent(self, seconds: float) -> list[dict[str, Any]]:
        """Everything but pings received during `seconds` (expected: nothing)."""
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                got.append(await self.receive(within=left))
            except TimeoutError:
                break
        return got


@asynccontextmanager
async def socket(base: str, token: str | None = None, **headers: str) -> AsyncIterator[Client]:
    async with connect(
        ws_url(base), subprotocols=[PROTOCOL], additional_headers=headers or None, open_timeout=30
    ) as ws:  # type: ignore[arg-type]
        client = Client(ws)
        if token is not None:
            ack = await client.init(token)
            assert ack == {"type": "connection_ack"}, ack
        yield client


def _serve(stores: Stores, issuer: TestIssuer, port: int, **extra: str) -> subprocess.Popen[bytes]:
    log = stores.data_dir / f"gateway-b-{port}.log"
    env = {
        **os.environ,
        "DATABASE_URL": stores.app_url,
        "DATABASE_SYSTEM_URL": stores.system_url,
        "MONGO_URL": stores.mongo_url,
        "MONGO_DB": stores.mongo_db,
        "OIDC_ISSUER": issuer.url,
        "OIDC_AUDIENCE": AUDIENCE,
        "OMNIFY_HOST": "127.0.0.1",
        "OMNIFY_PORT": str(port),
        "OMNIFY_STORE_TIMEOUT_S": "5",
        **extra,
    }
    # A file, not a pipe: a pipe nobody reads fills up over a module's tests and blocks B's logging.
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.ops.cli", "serve"], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gateway B exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gateway B did not start")


@pytest.fixture(scope="module")
def gateway_b(seeded: Stores, issuer: TestIssuer) -> Iterator[str]:
    port = free_port()
    proc = _serve(seeded, issuer, port)
    yield f"http://127.0.0.1:{port}"
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


async def campaign_pair(client: httpx.AsyncClient, issuer: TestIssuer) -> tuple[str, str]:
    body = await gql(
        client,
        "{ organization { campaigns(first: 100) { edges { node { id status dailyBudget { amount currency } } } } } }",
        token=issuer.token(ORG, "admin"),
    )
    # Other tests add campaigns of their own (some with tiny budgets): take two that can give.
    usd = [
        e["node"]["id"]
        for e in body["data"]["organization"]["campaigns"]["edges"]
        if e["node"]["dailyBudget"]["currency"] == "USD"
        and e["node"]["status"] == "ACTIVE"
        and float(e["node"]["dailyBudget"]["amount"]) >= 100
    ]
    return usd[0], usd[1]


async def shift(http: httpx.AsyncClient, token: str, source: str, target: str, amount: str) -> dict[str, Any]:
    body = await gql(
        http, SHIFT, {"input": {"fromCampaignId": source, "toCampaignId": target, "amount": amount}}, token=token
    )
    result: dict[str, Any] = body["data"]["shiftBudget"]
    return result


async def next_event(client: Client, operation_id: str, within: float = 10.0) -> dict[str, Any]:
    message = await client.receive(within)
    assert message["type"] == "next" and message["id"] == operation_id, message
    assert "errors" not in message["payload"], message
    data: dict[str, Any] = message["payload"]["data"]
    return data


async def settle() -> None:
    """Give a fresh subscription a moment to be registered before its first event is sent."""
    await asyncio.sleep(0.3)


# --- across processes --------------------------------------------------------------------


async def test_an_action_on_b_reaches_a_subscriber_on_a(
    gateway: ServerThread, gateway_b: str, client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    source, target = await campaign_pair(client, issuer)
    marketer = issuer.token(ORG, "marketer")
    async with (
        httpx.AsyncClient(base_url=gateway_b, timeout=30) as http_b,
        socket(gateway.url, issuer.token(ORG, "viewer")) as on_a,
        socket(gateway.url, issuer.token(OTHER, "owner")) as other_org,
        socket(gateway_b, issuer.token(ORG, "viewer")) as on_b,
    ):
        for sub in (on_a, other_org, on_b):
            await sub.subscribe("1", ACTIONS, {"filter": {"action": ["SHIFT_BUDGET"]}})
        await settle()
        # B's own listener is up once its own subscriber hears B's first action.
        warm = await shift(http_b, marketer, source, target, "1.00")
        assert warm["userErrors"] == [], warm
        assert (await next_event(on_b, "1", within=30))["actionLogged"]["id"] == warm["actionLog"]["id"]
        assert (await next_event(on_a, "1", within=30))["actionLogged"]["id"] == warm["actionLog"]["id"]

        result = await shift(http_b, marketer, target, source, "1.00")
        assert result["userErrors"] == [], result
        # Delivery latency is a figure for bench/, not a test: here it only has to arrive.
        event = (await next_event(on_a, "1", within=30))["actionLogged"]
        assert event["id"] == result["actionLog"]["id"]
        assert event["action"] == "SHIFT_BUDGET" and event["status"] == "SUCCEEDED"
        assert event["payload"]["amount"] == "1.00"
        assert (await next_event(on_b, "1"))["actionLogged"]["id"] == result["actionLog"]["id"]
        # Another organization's subscriber heard none of it.
        assert await other_org.silent(1.0) == []


async def test_a_rejected_mutation_emits_nothing(
    gateway: ServerThread, client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    source, target = await campaign_pair(client, issuer)
    marketer = issuer.token(ORG, "marketer")
    async with socket(gateway.url, issuer.token(ORG, "analyst")) as sub:
        await sub.subscribe("a", ACTIONS)
        await settle()
        rejected = await shift(client, marketer, source, target, "999999999.00")
        assert [e["code"] for e in rejected["userErrors"]] == ["INSUFFICIENT_BUDGET"]
        done = await shift(client, marketer, source, target, "0.01")
        assert done["userErrors"] == []
        await shift(client, marketer, target, source, "0.01")
        # The first event is the accepted shift: the rejected one sent nothing.
        first = (await next_event(sub, "a"))["actionLogged"]
        assert first["id"] == done["actionLog"]["id"]


async def test_filters_admit_only_matching_actions(
    gateway: ServerThread, client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    source, target = await campaign_pair(client, issuer)
    marketer = issuer.token(ORG, "marketer")
    async with socket(gateway.url, issuer.token(ORG, "viewer")) as sub:
        await sub.subscribe("f", ACTIONS, {"filter": {"action": ["UPDATE_CAMPAIGN_BUDGET"], "status": ["SUCCEEDED"]}})
        await settle()
        await shift(client, marketer, source, target, "0.01")
        await shift(client, marketer, target, source, "0.01")
        body = await gql(
            client,
            "mutation($input: UpdateCampaignBudgetInput!) { updateCampaignBudget(input: $input) { actionLog { id } } }",
            {"input": {"campaignId": source, "dailyBudget": "321.00"}},
            token=marketer,
        )
        event = (await next_event(sub, "f"))["actionLogged"]
        assert event["action"] == "UPDATE_CAMPAIGN_BUDGET"
        assert event["id"] == body["data"]["updateCampaignBudget"]["actionLog"]["id"]


async def test_sync_job_batches_arrive_in_order(
    gateway: ServerThread, gateway_b: str, client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    token = partner(issuer)  # a globex partner
    items = (await creatives(seeded))[:5]
    job = await start_job(client, token)
    async with (
        socket(gateway_b, issuer.token("globex", "viewer")) as sub,
        httpx.AsyncClient(base_url=gateway.url, timeout=30) as http,
    ):
        await sub.subscribe("job", SYNC_JOB, {"id": job})
        await settle()
        for batch in range(4):
            rows = [row(c, days_ago(40 + batch)) for c in items]
            body = await gql(http, INGEST, {"input": {"syncJobId": job, "rows": rows}}, token=token)
            assert body["data"]["ingestDailyMetrics"]["userErrors"] == [], body
        done = await finish(http, token, job, "SUCCEEDED")
        assert done["data"]["finishSyncJob"]["userErrors"] == [], done
        seen = [(await next_event(sub, "job", within=30))["syncJobUpdated"] for _ in range(5)]
    assert [s["recordsSynced"] for s in seen] == [5, 10, 15, 20, 20]
    assert [s["status"] for s in seen] == ["RUNNING"] * 4 + ["SUCCEEDED"]
    assert {s["id"] for s in seen} == {job}


async def test_audit_events_of_both_stores_reach_admins(
    gateway: ServerThread, gateway_b: str, client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    source, target = await campaign_pair(client, issuer)
    async with socket(gateway_b, issuer.token(ORG, "admin")) as sub:
        await sub.subscribe("audit", AUDIT)
        await sub.subscribe("runs", EXECUTIONS)
        await settle()
        # A Brain action: announced when the outbox delivered its audit event to MongoDB.
        shifted = await shift(client, issuer.token(ORG, "marketer"), source, target, "0.01")
        audit = await next_event(sub, "audit", within=30)
        assert audit["auditEvent"]["action"] == "shiftBudget"
        # An enterprise mutation (MongoDB): its audit event, and the run it queued.
        ran = await gql(
            client,
            RUN,
            {"input": {"workflowId": seeded_workflow(0, ORG), "input": {"window": "1d"}}},
            token=issuer.token(ORG, "admin"),
        )
        run = ran["data"]["runWorkflow"]
        assert run["userErrors"] == [], ran
        run_event = (await next_event(sub, "audit", within=30))["auditEvent"]
        assert run_event["action"] == "workflow.run"
        assert run_event["targetRef"] == {"type": "WorkflowExecution", "id": str(raw(run["execution"]["id"]))}
        execution = (await next_event(sub, "runs", within=30))["workflowExecutionUpdated"]
        assert execution["id"] == run["execution"]["id"] and execution["status"] == "QUEUED"
        assert execution["workflow"]["id"] == seeded_workflow(0, ORG)
        assert shifted["userErrors"] == []


async def test_a_viewer_cannot_subscribe_to_audit_events(gateway: ServerThread, issuer: TestIssuer) -> None:
    async with socket(gateway.url, issuer.token(ORG, "viewer")) as sub:
        await sub.subscribe("x", AUDIT)
        message = await sub.receive()
        assert message["type"] == "error" and message["id"] == "x", message
        assert message["payload"][0]["extensions"]["code"] == "FORBIDDEN"
        # The connection stays usable.
        await sub.send({"type": "ping"})
        assert (await sub.receive())["type"] == "pong"


# --- authentication and the protocol -----------------------------------------------------


async def test_an_expired_token_is_closed_with_4401_at_expiry(gateway: ServerThread, issuer: TestIssuer) -> None:
    expires = int(time.time()) + 3
    async with socket(gateway.url, issuer.token(ORG, "viewer", exp=expires)) as sub:
        await sub.subscribe("1", ACTIONS)
        code, reason = await sub.closed(within=30)
        closed_at = time.time()
    assert code == 4401, (code, reason)
    # Closed at expiry without the client sending anything (exp has one-second resolution).
    assert expires - 0.05 <= closed_at < expires + 5, (closed_at, expires)


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({}, 4401),
        ({"Authorization": "Bearer not-a-token"}, 4401),
    ],
)
async def test_connection_init_refusals(
    gateway: ServerThread, issuer: TestIssuer, payload: dict[str, Any], code: int
) -> None:
    async with socket(gateway.url) as sub:
        await sub.send({"type": "connection_init", "payload": payload})
        assert (await sub.closed())[0] == code


async def test_protocol_close_codes(gateway: ServerThread, issuer: TestIssuer) -> None:
    token = issuer.token(ORG, "viewer")
    async with socket(gateway.url) as sub:
        await sub.subscribe("1", ACTIONS)  # before connection_init
        assert (await sub.closed())[0] == 4401
    async with socket(gateway.url, token) as sub:
        await sub.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        assert (await sub.closed())[0] == 4429
    async with socket(gateway.url, token) as sub:
        await sub.subscribe("same", ACTIONS)
        await sub.subscribe("same", ACTIONS)
        assert (await sub.closed())[0] == 4409
    async with socket(gateway.url, token) as sub:
        await sub.socket.send("{not json")
        assert (await sub.closed())[0] == 4400
    async with socket(gateway.url, token) as sub:
        await sub.send({"type": "nonsense"})
        assert (await sub.closed())[0] == 4400
    # A token whose organization the subject does not belong to.
    async with socket(gateway.url) as sub:
        token = issuer.token(OTHER, "viewer", sub="someone-else")
        await sub.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        assert (await sub.closed())[0] == 4403


async def test_init_timeout_closes_with_4408(seeded: Stores, issuer: TestIssuer) -> None:
    from gateway.http.app import create_app
    from tests.conftest import gateway_settings

    server = ServerThread(create_app(gateway_settings(seeded, issuer, ws_init_timeout_s=0.5))).start()
    try:
        async with socket(server.url) as sub:
            assert (await sub.closed())[0] == 4408
    finally:
        server.stop()


async def test_limits_per_connection_and_per_principal(seeded: Stores, issuer: TestIssuer) -> None:
    from gateway.http.app import create_app
    from tests.conftest import gateway_settings

    settings = gateway_settings(seeded, issuer, ws_max_subscriptions=2, ws_max_connections_per_principal=2)
    server = ServerThread(create_app(settings)).start()
    token = issuer.token(ORG, "viewer")
    try:
        async with socket(server.url, token) as first, socket(server.url, token):
            for n in range(3):
                await first.subscribe(str(n), ACTIONS)
            message = await first.receive()
            assert message["type"] == "error" and message["id"] == "2", message
            assert message["payload"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
            async with socket(server.url) as third:
                await third.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
                assert (await third.closed())[0] == 1008
            # Another principal is not affected.
            async with socket(server.url, issuer.token(ORG, "analyst")):
                pass
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"{server.url}/metrics")).text
        assert "omnify_ws_connections" in metrics and "omnify_ws_subscriptions" in metrics
    finally:
        server.stop()


async def test_a_slow_consumer_is_closed_not_buffered(
    seeded: Stores, issuer: TestIssuer, client: httpx.AsyncClient
) -> None:
    from gateway.http.app import create_app
    from tests.conftest import gateway_settings

    settings = gateway_settings(seeded, issuer, ws_send_queue=8, ws_max_subscriptions=100)
    server = ServerThread(create_app(settings)).start()
    source, target = await campaign_pair(client, issuer)
    marketer = issuer.token(ORG, "marketer")
    # A client that stops reading: a tiny receive buffer, and it never calls recv.
    raw_socket = socket_module.socket(socket_module.AF_INET, socket_module.SOCK_STREAM)
    raw_socket.setsockopt(socket_module.SOL_SOCKET, socket_module.SO_RCVBUF, 4096)
    raw_socket.connect(("127.0.0.1", server.port))
    try:
        async with connect(
            ws_url(server.url),
            subprotocols=[PROTOCOL],
            sock=raw_socket,
            max_queue=1,  # type: ignore[list-item]
        ) as ws:
            sub = Client(ws)
            assert (await sub.init(issuer.token(ORG, "viewer")))["type"] == "connection_ack"
            for n in range(100):
                await sub.subscribe(str(n), ACTIONS)
            await settle()
            code = None
            for n in range(60):
                a, b = (source, target) if n % 2 == 0 else (target, source)
                await shift(client, marketer, a, b, "0.01")
                if ws.protocol.close_rcvd is not None or ws.protocol.state.name != "OPEN":
                    break
            code, _ = await sub.closed(within=60)
        assert code == 1013
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"{server.url}/metrics")).text
        assert 'omnify_ws_events_dropped_total{reason="slow_consumer"}' in metrics
    finally:
        server.stop()


async def test_graceful_shutdown_closes_sockets_with_1001(seeded: Stores, issuer: TestIssuer) -> None:
    port = free_port()
    proc = _serve(seeded, issuer, port)
    try:
        async with socket(f"http://127.0.0.1:{port}", issuer.token(ORG, "viewer")) as sub:
            await sub.subscribe("1", ACTIONS)
            await settle()
            proc.send_signal(signal.SIGTERM)
            code, _ = await sub.closed(within=30)
        assert code == 1001
        # uvicorn ends by re-raising the signal it handled, once shutdown is complete.
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()


# --- the GraphiQL session cookie ---------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "send_csrf", "expected"),
    [("own", True, "ack"), ("own", False, 4403), ("https://evil.example", True, 4403), (None, True, 4403)],
)
async def test_session_cookie_sockets_need_the_own_origin_and_the_csrf_token(
    login_gateway: LoginGateway, browser: httpx.AsyncClient, origin: str | None, send_csrf: bool, expected: Any
) -> None:
    csrf = await log_in(browser, "acme", "admin")
    cookie = f"{SESSION_COOKIE}={browser.cookies[SESSION_COOKIE]}"
    async with connect(
        ws_url(login_gateway.url),
        subprotocols=[PROTOCOL],  # type: ignore[list-item]
        origin=login_gateway.url if origin == "own" else origin,  # type: ignore[arg-type]
        additional_headers={"Cookie": cookie},
    ) as ws:
        sub = Client(ws)
        await sub.send({"type": "connection_init", "payload": {CSRF_PAYLOAD_KEY: csrf} if send_csrf else {}})
        if expected == "ack":
            assert await sub.receive() == {"type": "connection_ack"}
            await sub.subscribe("audit", AUDIT)
            await sub.send({"type": "ping"})
            assert (await sub.receive())["type"] == "pong"  # the admin may subscribe: no error came first
        else:
            assert (await sub.closed())[0] == expected


async def test_the_listener_reconnects_after_postgresql_drops_it(
    seeded: Stores, issuer: TestIssuer, client: httpx.AsyncClient
) -> None:
    from gateway.http.app import create_app
    from tests.conftest import gateway_settings

    app = create_app(gateway_settings(seeded, issuer))
    server = ServerThread(app).start()
    realtime = app.state.gateway.realtime
    source, target = await campaign_pair(client, issuer)
    try:
        first = await _listener_pid(realtime, None)
        owner = await asyncpg.connect(seeded.database_url)
        try:
            assert await owner.fetchval("SELECT pg_terminate_backend($1)", first)
        finally:
            await owner.close()
        await _listener_pid(realtime, first)
        async with socket(server.url, issuer.token(ORG, "viewer")) as sub:
            await sub.subscribe("1", ACTIONS)
            await settle()
            result = await shift(client, issuer.token(ORG, "marketer"), source, target, "0.01")
            assert (await next_event(sub, "1", within=30))["actionLogged"]["id"] == result["actionLog"]["id"]
    finally:
        server.stop()


async def _listener_pid(realtime: Any, not_this: int | None) -> int:
    """The gateway's listening backend once it is up (and is not `not_this`)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pid = realtime.listener_pid
        if pid is not None and pid != not_this:
            return int(pid)
        await asyncio.sleep(0.05)
    raise AssertionError("the gateway did not (re)connect its listener")


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ("{ viewer { subject } }", "BAD_USER_INPUT"),
        ("subscription { actionLogged { nope } }", "BAD_USER_INPUT"),
        ("subscription {", "BAD_USER_INPUT"),
        ("subscription " + "{ actionLogged " * 20 + "}" * 20, "QUERY_TOO_COMPLEX"),
        ('subscription { syncJobUpdated(id: "not-an-id") { id } }', "BAD_USER_INPUT"),
    ],
)
async def test_bad_documents_get_an_error_message_and_the_socket_stays(
    gateway: ServerThread, issuer: TestIssuer, document: str, code: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with socket(gateway.url, issuer.token(ORG, "viewer")) as sub:
        await sub.subscribe("bad", document)
        message = await sub.receive()
        assert message["type"] == "error" and message["id"] == "bad", message
        assert message["payload"][0]["extensions"]["code"] == code, message
        await sub.send({"type": "ping"})
        assert (await sub.receive())["type"] == "pong"
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
