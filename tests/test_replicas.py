"""The compose topology without Docker: two `serve` replicas (two workers each) behind the
stack's own nginx configuration, sharing Redis and the event bus."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Stores
from tests.support.issuer import TestIssuer
from tests.support.nginx import Nginx, NginxUnavailable
from tests.support.redis import RedisServer, RedisUnavailable
from tests.support.serve import ServeProcess, serve_environment
from tests.test_fair_share import SMALL, post
from tests.test_subscriptions import ACTIONS, ORG, campaign_pair, next_event, settle, shift, socket

pytestmark = pytest.mark.slow

# Small enough for a principal to run out within a few requests, as in the Redis rate-limit tests.
RATE_LIMITS = {"base": 10, "roles": {"analyst": {"burst": 120, "perSecond": 0.01}}}


class Stack:
    def __init__(self, replicas: list[ServeProcess], proxy: Nginx) -> None:
        self.replicas = replicas
        self.proxy = proxy


@pytest.fixture(scope="module")
def stack(seeded: Stores, issuer: TestIssuer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Started once for the module (starting four workers is the slow part)."""
    tmp = tmp_path_factory.mktemp("stack")
    try:
        redis_server = RedisServer(seeded.data_dir / "redis-replicas")
    except RedisUnavailable as exc:
        pytest.skip(str(exc))
    redis_server.start()
    redis_server.flush()
    env = serve_environment(seeded.app_url, seeded.system_url, seeded.mongo_url, seeded.mongo_db, issuer)
    env |= {"REDIS_URL": redis_server.url, "OMNIFY_REDIS_TIMEOUT_S": "2", "OMNIFY_RATE_LIMITS": json.dumps(RATE_LIMITS)}
    replicas = [ServeProcess(env, 2, tmp / f"replica-{name}.log") for name in ("a", "b")]
    proxy: Nginx | None = None
    try:
        for replica in replicas:
            replica.start()
        for replica in replicas:
            replica.wait_ready()
        try:
            proxy = Nginx(tmp / "nginx", [f"127.0.0.1:{r.port}" for r in replicas]).start()
        except NginxUnavailable as exc:
            pytest.skip(str(exc))
        yield Stack(replicas, proxy)
    finally:
        if proxy is not None:
            proxy.stop()
        for replica in replicas:
            replica.stop()
        redis_server.stop()


async def test_the_proxy_spreads_requests_over_both_replicas(stack: Stack, issuer: TestIssuer) -> None:
    answered: set[int] = set()
    async with httpx.AsyncClient(base_url=stack.proxy.url, timeout=60) as http:
        for _ in range(20):
            response = await http.get("/healthz")
            assert response.status_code == 200, response.text
            answered.add(response.json()["pid"])
        for _ in range(6):
            body = (await post(http, issuer.token("acme", "viewer"), SMALL)).json()
            assert body["data"]["organization"]["campaigns"]["edges"], body
    for replica in stack.replicas:
        assert answered & replica.worker_pids(), (answered, [r.worker_pids() for r in stack.replicas])


async def test_rate_limits_are_shared_by_the_replicas(stack: Stack, issuer: TestIssuer) -> None:
    analyst = issuer.token(ORG, "analyst")
    async with httpx.AsyncClient(base_url=stack.proxy.url, timeout=60) as http:
        statuses = []
        for _ in range(40):
            statuses.append((await post(http, analyst, SMALL)).status_code)
            if statuses[-1] != 200:
                break
        assert statuses[-1] == 429 and statuses.count(200) >= 2, statuses
    # Each replica, asked directly, already counts what the other served.
    for replica in stack.replicas:
        async with httpx.AsyncClient(base_url=replica.url, timeout=60) as direct:
            refused = await post(direct, analyst, SMALL)
            assert refused.status_code == 429, refused.text
            assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
            assert {"ratelimit-limit", "ratelimit-remaining", "retry-after"} <= set(refused.headers)


async def test_a_subscription_through_the_proxy_hears_actions_served_by_either_replica(
    stack: Stack, issuer: TestIssuer
) -> None:
    marketer = issuer.token(ORG, "marketer")
    async with (
        httpx.AsyncClient(base_url=stack.proxy.url, timeout=60) as http,
        socket(stack.proxy.url, issuer.token(ORG, "viewer")) as subscriber,
    ):
        source, target = await campaign_pair(http, issuer)
        await subscriber.subscribe("1", ACTIONS, {"filter": {"action": ["SHIFT_BUDGET"]}})
        await settle()
        # Sent straight to each replica in turn: the subscriber's replica hears both.
        for replica in stack.replicas:
            async with httpx.AsyncClient(base_url=replica.url, timeout=60) as direct:
                result = await shift(direct, marketer, source, target, "1.00")
            assert result["userErrors"] == [], result
            event = (await next_event(subscriber, "1", within=60))["actionLogged"]
            assert event["id"] == result["actionLog"]["id"] and event["action"] == "SHIFT_BUDGET"


async def test_a_persisted_query_registered_on_one_replica_runs_on_the_other(stack: Stack, issuer: TestIssuer) -> None:
    document = "query ReplicaProbe { organization { slug } }"
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(document.encode()).hexdigest()}}
    headers = {"Authorization": f"Bearer {issuer.token('acme', 'viewer')}"}
    first, second = stack.replicas
    async with httpx.AsyncClient(timeout=60, headers=headers) as http:
        unknown = (await http.post(f"{second.url}/graphql", json={"extensions": extensions})).json()
        assert unknown["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND", unknown
        registered = (
            await http.post(f"{first.url}/graphql", json={"query": document, "extensions": extensions})
        ).json()
        assert registered["data"]["organization"]["slug"] == "acme", registered
        for base in (second.url, stack.proxy.url, stack.proxy.url):
            # By hash alone, as a CDN-cacheable GET: the other replica finds it in Redis.
            got = await http.get(f"{base}/graphql", params={"extensions": json.dumps(extensions)})
            assert got.status_code == 200 and got.json()["data"]["organization"]["slug"] == "acme", got.text


async def test_metrics_through_the_proxy_count_every_worker_of_each_replica(stack: Stack, issuer: TestIssuer) -> None:
    """Requests spread by the proxy over four workers. A scrape through the proxy is answered by one
    replica and reports both of its workers; alternate scrapes reach both replicas, whose figures add
    up to every request sent (an odd number, so the two figures cannot be equal)."""
    sent = 25

    def probes(text: str) -> float:
        lines = [line for line in text.splitlines() if line.startswith("omnify_graphql_requests_total{")]
        return sum(float(line.rsplit(" ", 1)[1]) for line in lines if 'operation="MetricsProbe"' in line)

    async with httpx.AsyncClient(base_url=stack.proxy.url, timeout=60) as http:
        for _ in range(sent):
            body = (
                await post(http, issuer.token("acme", "viewer"), "query MetricsProbe { viewer { subject } }")
            ).json()
            assert body["data"]["viewer"]["subject"], body
        through_proxy = {probes((await http.get("/metrics")).text) for _ in range(6)}
    async with httpx.AsyncClient(timeout=60) as http:
        direct = [probes((await http.get(f"{replica.url}/metrics")).text) for replica in stack.replicas]
    assert sum(direct) == sent and all(direct), direct
    assert through_proxy == set(direct), (through_proxy, direct)
