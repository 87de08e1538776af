"""One tenant cannot starve another: admission per organization and cost-based rate limits, over real HTTP."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.core.admission import Admission
from gateway.core.config import Bucket, ConfigError, RateLimits, load_settings
from gateway.data.ids import from_global_id
from gateway.errors import RateLimited
from gateway.http.app import Gateway, create_app
from tests.conftest import Stores, gateway_settings, gql
from tests.support.issuer import TestIssuer
from tests.support.servers import ServerThread
from tests.test_ingestion import partner

SMALL = "{ organization { campaigns(first: 5) { edges { node { name } } } } }"
VIEWER = "{ viewer { subject } }"
DASHBOARD = (Path(__file__).resolve().parents[1] / "bench" / "dashboard.graphql").read_text()
SHIFT = "mutation($i: ShiftBudgetInput!) { shiftBudget(input: $i) { userErrors { code } } }"
HEADERS = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset")


@contextmanager
def serving(stores: Stores, issuer: TestIssuer, **overrides: Any) -> Iterator[tuple[ServerThread, Gateway]]:
    """A gateway of its own, so small limits touch no other test."""
    app = create_app(gateway_settings(stores, issuer, executor="planned", **overrides))
    server = ServerThread(app).start()
    try:
        yield server, app.state.gateway
    finally:
        server.stop()


async def post(
    http: httpx.AsyncClient, token: str, query: str, variables: dict[str, Any] | None = None
) -> httpx.Response:
    return await http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers={"Authorization": f"Bearer {token}"}
    )


def remaining(response: httpx.Response) -> int:
    return int(response.headers["ratelimit-remaining"])


# --- admission -------------------------------------------------------------------------------


async def test_admission_hands_freed_slots_to_the_waiting_organizations_in_turn() -> None:
    admission = Admission(per_org=1, per_worker=2, queue=10, wait_s=60)
    await admission.acquire("a")
    await admission.acquire("b")
    order: list[str] = []

    async def one(org: str, name: str) -> None:
        await admission.acquire(org)
        order.append(name)

    # Organization a queues three requests first, then b two, then c one.
    waiting = [
        asyncio.create_task(one(org, name))
        for org, name in [*(("a", f"a{i}") for i in range(3)), ("b", "b0"), ("b", "b1"), ("c", "c0")]
    ]
    for _ in range(5):
        await asyncio.sleep(0)
    assert order == [] and admission.waiting == 6 and admission.in_flight == 2
    for org in ("a", "b", "a", "b", "c", "a"):
        admission.release(org)
        for _ in range(3):
            await asyncio.sleep(0)
    # Each freed slot went to the next organization in turn whose own bound allowed it:
    # c's single request came before a's second and third, though a queued first.
    assert order == ["a0", "b0", "c0", "a1", "b1", "a2"]
    await asyncio.gather(*waiting)
    assert admission.state("a").queued == 3 and admission.state("c").queued == 1 and admission.waiting == 0


async def test_heavy_requests_take_more_slots_and_keep_their_turn() -> None:
    admission = Admission(per_org=3, per_worker=4, queue=10, wait_s=60)
    for _ in range(3):
        await admission.acquire("a", 1)  # three light requests: a's whole share
    order: list[str] = []

    async def one(org: str, slots: int, name: str) -> None:
        await admission.acquire(org, slots)
        order.append(name)

    async def settle() -> None:
        for _ in range(3):
            await asyncio.sleep(0)

    # b's heavy request weighs its whole share (3 slots, though it asked for 9): one slot is free.
    heavy = asyncio.create_task(one("b", 9, "b-heavy"))
    await settle()
    # c's light request would fit the free slot, but the slots are held for b's turn.
    light = asyncio.create_task(one("c", 1, "c-light"))
    await settle()
    assert order == [] and admission.waiting == 2 and admission.in_flight == 3
    admission.release("a")
    await settle()
    assert order == []  # two free: still not enough for b
    admission.release("a")
    await settle()
    assert order == ["b-heavy"] and admission.in_flight == 4
    admission.release("a")
    await settle()
    assert order == ["b-heavy", "c-light"] and admission.in_flight == 4
    await asyncio.gather(heavy, light)
    admission.release("b", 9)
    admission.release("c")
    assert admission.in_flight == 0 and admission.waiting == 0


async def test_a_heavy_request_lets_an_organization_that_used_the_worker_less_go_first() -> None:
    now = [100.0]
    admission = Admission(per_org=4, per_worker=16, queue=10, wait_s=60, clock=lambda: now[0])
    # b ran heavy requests (4 slots for 2 s); a ran one light request for 1 s and has another in flight.
    await admission.acquire("b", 4)
    await admission.acquire("a", 1)
    now[0] += 2.0
    admission.release("b", 4, 2.0)
    admission.release("a", 1, 1.0)
    await admission.acquire("a", 1)
    heavy = asyncio.create_task(admission.acquire("b", 4))
    await asyncio.sleep(0)
    assert not heavy.done() and admission.state("b").yielded == 1  # slots are free, yet b waits
    # Light requests never yield, and the slots b waits for are not held back from them.
    await asyncio.wait_for(admission.acquire("c", 1), 10)
    admission.release("c", 1, 0.0)
    now[0] += 0.001
    admission.release("a", 1, 0.001)
    await asyncio.sleep(0)
    assert not heavy.done()  # a was active a moment ago: still its turn
    now[0] += 1.0  # a has gone quiet: the recheck lets b's heavy request run
    await asyncio.wait_for(heavy, 10)
    assert admission.in_flight == 4 and admission.state("b").queued == 1


async def test_admission_refuses_past_its_queue_or_its_wait() -> None:
    refused: list[str] = []
    admission = Admission(per_org=1, per_worker=4, queue=1, wait_s=0.05, on_refused=refused.append)
    await admission.acquire("a")
    waiter = asyncio.create_task(admission.acquire("a"))
    await asyncio.sleep(0)
    with pytest.raises(RateLimited) as full:
        await admission.acquire("a")
    assert full.value.extensions == {"code": "RATE_LIMITED", "retryAfter": 1, "limit": "admission"}
    with pytest.raises(RateLimited):
        await waiter  # nobody released a's slot in time
    assert refused == ["queue_full", "timeout"]
    assert admission.waiting == 0 and admission.in_flight == 1
    await admission.acquire("b")  # another organization is not held up by a's queue
    assert admission.in_flight == 2


async def test_a_flooding_organization_waits_behind_its_own_requests_only(seeded: Stores, issuer: TestIssuer) -> None:
    today = dt.datetime.now(dt.UTC).date()
    heavy = {"n": 10, "m": 5, "from": str(today - dt.timedelta(days=29)), "to": str(today)}
    with serving(
        seeded, issuer, admission_per_org=2, admission_per_worker=3, rate_limits=RateLimits(enabled=False)
    ) as (server, gateway):
        assert gateway.admission is not None
        acme, globex = issuer.token("acme", "admin"), issuer.token("globex", "viewer")
        async with httpx.AsyncClient(base_url=server.url, timeout=120) as http:
            ids = {
                name: from_global_id(
                    (await gql(http, "{ organization { id } }", token=t))["data"]["organization"]["id"]
                )[1]
                for name, t in (("acme", acme), ("globex", globex))
            }
            done = asyncio.Event()
            flood_answers: list[httpx.Response] = []

            async def flood() -> None:
                while not done.is_set():
                    flood_answers.append(await post(http, acme, DASHBOARD, heavy))

            flooders = [asyncio.create_task(flood()) for _ in range(6)]
            try:
                # Until acme's requests have queued behind their own bound, and then some more.
                async with asyncio.timeout(120):
                    while gateway.admission.state(ids["acme"]).queued < 5:  # noqa: ASYNC110 - state of another thread
                        await asyncio.sleep(0.05)
                answers = [await post(http, globex, SMALL) for _ in range(20)]
            finally:
                done.set()
                await asyncio.gather(*flooders)
        assert [a.status_code for a in answers] == [200] * 20
        assert all("errors" not in a.json() for a in answers), answers[0].text
        victim, neighbour = gateway.admission.state(ids["globex"]), gateway.admission.state(ids["acme"])
        # Every globex request was admitted at once: none waited, none was refused.
        assert (victim.admitted, victim.queued, victim.refused) == (21, 0, 0)
        assert neighbour.queued >= 5 and neighbour.refused == 0
        assert all(a.status_code == 200 and "errors" not in a.json() for a in flood_answers)
        assert "ratelimit-limit" not in answers[0].headers  # rate limits off: no headers
        assert gateway.admission.in_flight == 0 and gateway.admission.waiting == 0


# --- rate limits -----------------------------------------------------------------------------


async def test_rate_limit_headers_on_every_authenticated_response(
    client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    token = issuer.token("initech", "analyst")
    answered = await post(client, token, SMALL)
    invalid = await post(client, token, "{ organization { nope } }")
    unparsed = await post(client, token, "{ organization {")
    problem = await client.post("/graphql", content=b"x", headers={"Authorization": f"Bearer {token}"})
    for response in (answered, invalid, unparsed, problem):
        assert all(h in response.headers for h in HEADERS), (response.status_code, response.headers)
        assert int(response.headers["ratelimit-limit"]) >= remaining(response) >= 0
    assert problem.status_code == 415
    unauthenticated = await client.post("/graphql", json={"query": SMALL})
    assert unauthenticated.status_code == 401 and "ratelimit-limit" not in unauthenticated.headers
    ready = (await client.get("/readyz")).json()
    assert ready["redis"] == {"configured": False, "limits": "in-process"}


LIMITS = RateLimits(
    base=10,
    roles={
        **RateLimits().roles,
        "viewer": Bucket(100, 0.01),
        "analyst": Bucket(200, 0.01),
        "marketer": Bucket(1_000, 0.01),
    },
    partner=Bucket(50, 0.01),
    organization=Bucket(100_000, 0.01),
)


async def test_a_principal_over_its_limit_gets_429_and_roles_take_their_limits(
    seeded: Stores, issuer: TestIssuer
) -> None:
    with serving(seeded, issuer, rate_limits=LIMITS) as (server, _):
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            viewer = issuer.token("globex", "viewer")
            answers = []
            for _ in range(10):
                answers.append(await post(http, viewer, SMALL))
                if answers[-1].status_code != 200:
                    break
            refused = answers[-1]
            assert refused.status_code == 429, [a.status_code for a in answers]
            assert all(a.headers["ratelimit-limit"] == "100" for a in answers)
            left = [remaining(a) for a in answers[:-1]]
            assert left == sorted(left, reverse=True) and len(set(left)) == len(left)  # each charged
            retry = int(refused.headers["retry-after"])
            assert retry > 0
            error = refused.json()["errors"][0]
            assert error["extensions"]["code"] == "RATE_LIMITED" and error["extensions"]["retryAfter"] == retry
            assert error["extensions"]["limit"] == "principal" and error["extensions"]["requestId"]
            assert int(refused.headers["ratelimit-reset"]) >= retry
            # Cheaper requests pass while the bucket holds their price, and floods of them are charged too.
            for _ in range(20):
                last = await post(http, viewer, VIEWER)
                if last.status_code == 429:
                    break
            assert last.status_code == 429 and remaining(last) == 0
            # Another principal of the same organization is not affected.
            analyst = await post(http, issuer.token("globex", "analyst"), SMALL)
            assert analyst.status_code == 200 and analyst.headers["ratelimit-limit"] == "200"
            # Partners take the partner limit; a mutation is charged like a query.
            ingest = await post(http, partner(issuer), VIEWER)
            assert ingest.status_code == 200 and ingest.headers["ratelimit-limit"] == "50"
            marketer = issuer.token("globex", "marketer")
            before = remaining(await post(http, marketer, VIEWER))
            shifted = await post(
                http, marketer, SHIFT, {"i": {"fromCampaignId": "x", "toCampaignId": "y", "amount": "1"}}
            )
            assert shifted.status_code == 200 and remaining(shifted) <= before - 10


async def test_an_organization_limit_binds_its_principals_and_no_other_organization(
    seeded: Stores, issuer: TestIssuer
) -> None:
    limits = RateLimits(base=10, organization=Bucket(150, 0.01))
    with serving(seeded, issuer, rate_limits=limits) as (server, _):
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            tokens = [issuer.token("acme", "analyst"), issuer.token("acme", "marketer")]
            answers = []
            for n in range(20):
                answers.append(await post(http, tokens[n % 2], SMALL))
                if answers[-1].status_code != 200:
                    break
            refused = answers[-1]
            assert refused.status_code == 429 and len(answers) > 2, [a.status_code for a in answers]
            assert refused.json()["errors"][0]["extensions"]["limit"] == "organization"
            assert refused.headers["ratelimit-limit"] == "150"  # the tighter bucket is the organization's
            # Both principals drew on the one bucket: each alone would have had 60,000 points.
            assert {a.request.headers["authorization"] for a in answers} == {f"Bearer {t}" for t in tokens}
            other = await post(http, tokens[(len(answers)) % 2], SMALL)
            assert other.status_code == 429
            globex = await post(http, issuer.token("globex", "analyst"), SMALL)
            assert globex.status_code == 200 and "errors" not in globex.json()


def test_rate_limit_settings_are_read_and_checked() -> None:
    env = {
        "MONGO_URL": "mongodb://localhost:27017",
        "DATABASE_URL": "postgresql://gateway@localhost/brain",
        "DATABASE_SYSTEM_URL": "postgresql://gateway_system@localhost/brain",  # read by gateways with a system login
        "OIDC_ISSUER": "https://issuer.example.com",
        "OIDC_AUDIENCE": "omnify",
    }
    settings = load_settings(
        {**env, "OMNIFY_RATE_LIMITS": '{"base": 5, "roles": {"viewer": {"perSecond": 7}}, "partner": {"burst": 9}}'}
    )
    limits = settings.rate_limits
    assert limits.enabled and limits.base == 5
    assert limits.roles["viewer"] == Bucket(RateLimits().roles["viewer"].burst, 7.0)
    assert limits.partner == Bucket(9, RateLimits().partner.per_second)
    assert limits.organization == RateLimits().organization
    assert not load_settings({**env, "OMNIFY_RATE_LIMITS": "off"}).rate_limits.enabled
    with pytest.raises(ConfigError) as bad:
        load_settings(
            {
                **env,
                "OMNIFY_RATE_LIMITS": '{"roles": {"boss": {}}, "partner": {"burst": 0}, "speed": 1}',
                "OMNIFY_ADMISSION_PER_ORG": "9",
                "OMNIFY_ADMISSION_PER_WORKER": "4",
                "REDIS_URL": "http://secret@cache:6379",
            }
        )
    problems = "\n".join(bad.value.problems)
    for expected in (
        "unknown role 'boss'",
        "partner.burst",
        "unknown keys: speed",
        "OMNIFY_ADMISSION_PER_ORG",
        "REDIS_URL",
    ):
        assert expected in problems, problems
    assert "secret" not in problems
