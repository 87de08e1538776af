"""publishBrainState and brainStateUpdated: versions that only go up, the brain:write scope, tenancy."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import pytest

from gateway.ops.seed import uid
from tests.conftest import Stores, gql
from tests.support.issuer import TestIssuer
from tests.support.servers import ServerThread
from tests.test_ingestion import delivered_audit
from tests.test_subscriptions import next_event, settle, socket

ORG = "initech"  # mutation tests change data: keep them to one organization
OTHER = "acme"
PUBLISH = """mutation($input: PublishBrainStateInput!) { publishBrainState(input: $input) {
  brainState { id module version state computedAt } actionLog { action targetType payload result }
  userErrors { code message field } } }"""
UPDATED = "subscription($modules: [BrainModule!]) { brainStateUpdated(modules: $modules) { id module version state } }"


def brain_service(issuer: TestIssuer, org: str = ORG, scope: str = "brain:write", name: str = "") -> str:
    name = name or f"brain-module-{org}"
    return issuer.token(org, "owner", sub=name, azp=name, scope=scope)


async def newest(stores: Stores, module: str, org: str = ORG) -> int:
    conn = await asyncpg.connect(stores.database_url)
    try:
        value = await conn.fetchval(
            "SELECT max(version) FROM brain_states WHERE organization_id = $1 AND module = $2", uid("org", org), module
        )
        return int(value or 0)
    finally:
        await conn.close()


async def count(stores: Stores, org: str = ORG) -> int:
    conn = await asyncpg.connect(stores.database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM brain_states WHERE organization_id = $1", uid("org", org)))
    finally:
        await conn.close()


async def publish(http: httpx.AsyncClient, token: str, **input: Any) -> dict[str, Any]:
    body = await gql(http, PUBLISH, {"input": input}, token=token)
    return body


async def test_publish_stores_the_next_version_with_log_and_audit(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    version = await newest(seeded, "oracle") + 1
    state = {"forecast": [{"day": 1, "roas": 2.5}], "model": "v7"}
    body = await publish(client, brain_service(issuer), module="ORACLE", version=version, state=state)
    result = body["data"]["publishBrainState"]
    assert result["userErrors"] == [], body
    assert result["brainState"]["module"] == "ORACLE"
    assert result["brainState"]["version"] == version and result["brainState"]["state"] == state
    assert result["actionLog"] == {
        "action": "PUBLISH_BRAIN_STATE",
        "targetType": "BRAIN_STATE",
        "payload": {"module": "oracle", "version": version},
        "result": {"previousVersion": version - 1 or None, "stateKeys": 2},
    }
    assert await newest(seeded, "oracle") == version
    # The organization's reads see it as the module's latest.
    latest = await gql(
        client, "{ organization { latestBrainStates { module version } } }", token=issuer.token(ORG, "analyst")
    )
    assert {"module": "ORACLE", "version": version} in latest["data"]["organization"]["latestBrainStates"]
    events = await delivered_audit(seeded, f"brain-module-{ORG}")
    assert [e["action"] for e in events][-1] == "publishBrainState"
    assert events[-1]["details"]["input"] == {"module": "oracle", "version": version}


async def test_versions_must_increase(client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores) -> None:
    token = brain_service(issuer)
    top = await newest(seeded, "memory")
    first = await publish(client, token, module="MEMORY", version=top + 5, state={"n": 1})
    assert first["data"]["publishBrainState"]["userErrors"] == [], first  # gaps are allowed
    before = await count(seeded)
    for version, code in [(top + 5, "STALE_VERSION"), (top + 1, "STALE_VERSION"), (0, "INVALID_VERSION")]:
        body = await publish(client, token, module="MEMORY", version=version, state={"n": 2})
        result = body["data"]["publishBrainState"]
        assert result["brainState"] is None and result["actionLog"] is None
        assert [(e["code"], e["field"]) for e in result["userErrors"]] == [(code, "version")], body
    # Versions are per module: another module's lower version is fine.
    other = await newest(seeded, "curiosity") + 1
    ok = await publish(client, token, module="CURIOSITY", version=other, state={})
    assert ok["data"]["publishBrainState"]["userErrors"] == [], ok
    assert await count(seeded) == before + 1


@pytest.mark.parametrize(
    ("state", "code"), [([1, 2], "INVALID_STATE"), ("text", "INVALID_STATE"), (None, None)], ids=["list", "str", "null"]
)
async def test_a_state_is_a_json_object(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores, state: Any, code: str | None
) -> None:
    before = await count(seeded)
    version = await newest(seeded, "oracle") + 1
    body = await publish(client, brain_service(issuer), module="ORACLE", version=version, state=state)
    if code is None:  # null for a non-null argument: refused by GraphQL before the mutation runs
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    else:
        assert [e["code"] for e in body["data"]["publishBrainState"]["userErrors"]] == [code], body
    assert await count(seeded) == before


@pytest.mark.parametrize(
    "who",
    ["owner", "admin", "marketer", "analyst", "metrics:write", "actions:write"],
)
async def test_only_the_brain_write_scope_may_publish(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores, who: str
) -> None:
    token = brain_service(issuer, scope=who) if ":" in who else issuer.token(ORG, who)
    before = await count(seeded)
    body = await publish(client, token, module="ORACLE", version=10**6, state={})
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    assert await count(seeded) == before


async def test_concurrent_publishers_of_one_version_store_it_once(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    version = await newest(seeded, "curiosity") + 1
    tokens = [brain_service(issuer, name=f"brain-module-{i}") for i in range(4)]
    bodies = await asyncio.gather(
        *(publish(client, t, module="CURIOSITY", version=version, state={"by": i}) for i, t in enumerate(tokens))
    )
    results = [b["data"]["publishBrainState"] for b in bodies]
    assert sum(1 for r in results if r["userErrors"] == []) == 1, bodies
    assert sorted(e["code"] for r in results for e in r["userErrors"]) == ["STALE_VERSION"] * 3
    assert await newest(seeded, "curiosity") == version


async def test_a_retry_with_the_idempotency_key_publishes_once(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    token = brain_service(issuer)
    version = await newest(seeded, "oracle") + 1
    input = {"module": "ORACLE", "version": version, "state": {"k": 1}, "idempotencyKey": f"publish-{version}"}
    first = await publish(client, token, **input)
    again = await publish(client, token, **input)
    assert first["data"] == again["data"] and first["data"]["publishBrainState"]["userErrors"] == []
    assert await newest(seeded, "oracle") == version
    other = await publish(client, token, **{**input, "state": {"k": 2}})
    assert other["errors"][0]["extensions"]["code"] == "CONFLICT", other


async def test_subscribers_hear_their_organizations_states_only(
    gateway: ServerThread, client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    async with (
        socket(gateway.url, issuer.token(ORG, "analyst")) as mine,
        socket(gateway.url, issuer.token(OTHER, "owner")) as theirs,
        socket(gateway.url, brain_service(issuer, OTHER)) as their_service,
    ):
        await mine.subscribe("all", UPDATED)
        await mine.subscribe("memory", UPDATED, {"modules": ["MEMORY"]})
        await theirs.subscribe("all", UPDATED)
        await their_service.subscribe("all", UPDATED)
        await settle()
        version = await newest(seeded, "oracle") + 1
        body = await publish(client, brain_service(issuer), module="ORACLE", version=version, state={"x": [1, 2]})
        published = body["data"]["publishBrainState"]["brainState"]
        assert published is not None, body
        event = await next_event(mine, "all")
        assert event["brainStateUpdated"] == {
            "id": published["id"],
            "module": "ORACLE",
            "version": version,
            "state": {"x": [1, 2]},
        }
        # A rejected publication announces nothing; the filtered subscription waits for its module.
        stale = await publish(client, brain_service(issuer), module="ORACLE", version=version, state={})
        assert stale["data"]["publishBrainState"]["userErrors"][0]["code"] == "STALE_VERSION"
        memory = await newest(seeded, "memory") + 1
        await publish(client, brain_service(issuer), module="MEMORY", version=memory, state={})
        both = [await mine.receive(), await mine.receive()]  # one per subscription, in either order
        assert sorted((m["id"], m["payload"]["data"]["brainStateUpdated"]["version"]) for m in both) == [
            ("all", memory),
            ("memory", memory),
        ], both
        assert await theirs.silent(1.0) == []
        assert await their_service.silent(0.2) == []
