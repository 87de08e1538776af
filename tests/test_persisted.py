"""Persisted queries (Apollo's APQ protocol), through the real HTTP app with real tokens and a real Redis."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from typing import Any

import httpx
import pytest
import redis

from gateway.core.persisted import INDEX, PREFIX, SharedDocuments
from tests.conftest import Stores
from tests.support.issuer import TestIssuer
from tests.support.redis import RedisServer
from tests.test_fair_share import serving
from tests.test_rate_limit_redis import noticed, redis_state

GRAPHQL_RESPONSE = "application/graphql-response+json"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def fresh() -> str:
    """A document no other test has registered (APQ storage is global by hash)."""
    return f"query Apq{uuid.uuid4().hex} {{ viewer {{ subject }} }}"


def pq(digest: str, version: object = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": digest}}


async def send(
    http: httpx.AsyncClient,
    token: str | None,
    *,
    query: str | None = None,
    digest: str | None = None,
    document_id: str | None = None,
    get: bool = False,
    accept: str | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {}
    if query is not None:
        body["query"] = query
    if digest is not None:
        body["extensions"] = pq(digest)
    if document_id is not None:
        body["documentId"] = document_id
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if accept:
        headers["Accept"] = accept
    if get:
        params = {k: json.dumps(v, separators=(",", ":")) if isinstance(v, dict) else v for k, v in body.items()}
        return await http.get("/graphql", params=params, headers=headers)
    return await http.post("/graphql", json=body, headers=headers)


def code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


def not_found(response: httpx.Response) -> bool:
    """What Apollo's persisted-query link retries on: the message or the code, with HTTP 200."""
    errors = response.json().get("errors") or [{}]
    return (
        response.status_code == 200
        and errors[0].get("message") == "PersistedQueryNotFound"
        and errors[0].get("extensions", {}).get("code") == "PERSISTED_QUERY_NOT_FOUND"
        and "no-cache" in response.headers.get("cache-control", "")
    )


def ran(response: httpx.Response) -> bool:
    body = response.json()
    return response.status_code == 200 and "errors" not in body and bool(body["data"]["viewer"]["subject"])


# --- APQ in one process ----------------------------------------------------------------------


async def test_apq_miss_register_hit_over_post_and_get(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    token = issuer.token("acme", "analyst")
    document = fresh()
    digest = sha(document)
    assert not_found(await send(client, token, digest=digest))
    assert not_found(await send(client, token, digest=digest, get=True, accept=GRAPHQL_RESPONSE))
    assert ran(await send(client, token, query=document, digest=digest))  # registers
    assert ran(await send(client, token, digest=digest))
    by_hash = await send(client, token, digest=digest, get=True)
    assert ran(by_hash)
    # A GET by hash is answered like a GET that sends the document: the same headers, which keep
    # one principal's answer out of shared caches (a CDN caching the URL would otherwise serve it
    # to another organization).
    by_text = await send(client, token, query=document, get=True)
    assert ran(by_text) and by_hash.json() == by_text.json()
    assert set(by_hash.headers) == set(by_text.headers)
    for answer in (by_hash, by_text):
        assert answer.headers["cache-control"] == "private, no-cache", answer.headers
        assert answer.headers["vary"] == "Authorization, Cookie"
    # The document is global by hash: another organization's caller runs it too (its own data, its own limits).
    other = await send(client, issuer.token("globex", "viewer"), digest=digest)
    assert ran(other)


async def test_apq_refuses_a_wrong_hash_and_stores_nothing(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    token = issuer.token("acme", "analyst")
    document, claimed = fresh(), fresh()
    refused = await send(client, token, query=document, digest=sha(claimed))
    assert refused.status_code == 400 and code(refused) == "PERSISTED_QUERY_HASH_MISMATCH", refused.text
    assert "data" not in refused.json()
    assert not_found(await send(client, token, digest=sha(claimed)))
    assert not_found(await send(client, token, digest=sha(document)))


async def test_apq_stores_only_documents_that_validate_within_the_limits(
    client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    token = issuer.token("acme", "analyst")
    invalid = f"query Bad{uuid.uuid4().hex} {{ viewer {{ noSuchField }} }}"
    broken = f"query Broken{uuid.uuid4().hex} {{ viewer {{ "
    aliases = " ".join(f"a{i}: viewer {{ subject }}" for i in range(40))
    too_many = f"query Wide{uuid.uuid4().hex} {{ {aliases} }}"
    oversized = f"# {'x' * 70_000}\n{fresh()}"
    for document, expected in [
        (invalid, "BAD_USER_INPUT"),
        (broken, "BAD_USER_INPUT"),
        (too_many, "QUERY_TOO_COMPLEX"),
        (oversized, "QUERY_TOO_COMPLEX"),
    ]:
        answer = await send(client, token, query=document, digest=sha(document))
        assert answer.status_code == 200 and code(answer) == expected, answer.text
        assert not_found(await send(client, token, digest=sha(document))), document[:60]
    # Kept by bytes, not characters: a document of many four-byte characters runs but is not kept.
    wide = f"# {chr(0x1F600) * 9_000}\n{fresh()}"  # 9,000 characters, 36,000 bytes
    assert ran(await send(client, token, query=wide, digest=sha(wide)))
    assert not_found(await send(client, token, digest=sha(wide)))
    # Registration needs a valid token: nothing is stored for a caller the gateway refused.
    document = fresh()
    assert (await send(client, None, query=document, digest=sha(document))).status_code == 401
    assert (await send(client, "not-a-token", query=document, digest=sha(document))).status_code == 401
    assert not_found(await send(client, token, digest=sha(document)))


async def test_apq_refuses_malformed_extensions(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    token = {"Authorization": f"Bearer {issuer.token('acme', 'analyst')}"}
    digest = sha(fresh())
    cases: list[tuple[object, str]] = [
        (pq(digest, version=2), "PERSISTED_QUERY_VERSION_NOT_SUPPORTED"),
        (pq(digest, version=True), "PERSISTED_QUERY_VERSION_NOT_SUPPORTED"),
        (pq("abc"), "BAD_USER_INPUT"),
        (pq("g" * 64), "BAD_USER_INPUT"),
        ({"persistedQuery": "yes"}, "BAD_USER_INPUT"),
    ]
    for extensions, expected in cases:
        answer = await client.post("/graphql", json={"extensions": extensions}, headers=token)
        assert answer.status_code == 400 and code(answer) == expected, (extensions, answer.text)
    # Other extensions are the client's business; with no document the request is still refused as before.
    answer = await client.post("/graphql", json={"extensions": {"some": "value"}}, headers=token)
    assert answer.status_code == 400 and "`query` parameter is required" in answer.text
    typed = await client.post("/graphql", json={"documentId": 7}, headers=token)
    assert typed.status_code == 400 and "`documentId` parameter must be a string" in typed.text


async def test_apq_keeps_get_for_queries(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    token = issuer.token("acme", "owner")
    mutation = 'mutation Nope { shiftBudget(input: {fromCampaignId: "x", toCampaignId: "y", amount: "1"}) { userErrors { code } } }'
    answer = await send(client, token, query=mutation, digest=sha(mutation), get=True)
    assert answer.status_code == 405, answer.text
    assert not_found(await send(client, token, digest=sha(mutation)))


async def test_apq_off_says_not_supported(seeded: Stores, issuer: TestIssuer) -> None:
    with serving(seeded, issuer, apq=False) as (server, _):
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            token = issuer.token("acme", "analyst")
            document = fresh()
            for answer in [
                await send(http, token, digest=sha(document)),
                await send(http, token, query=document, digest=sha(document)),
            ]:
                assert answer.status_code == 200 and code(answer) == "PERSISTED_QUERY_NOT_SUPPORTED", answer.text
                assert answer.json()["errors"][0]["message"] == "PersistedQueryNotSupported"
            assert ran(await send(http, token, query=document))
            assert (await http.get("/readyz")).json()["persisted"]["apq"] == "off"


# --- APQ shared through Redis ----------------------------------------------------------------


async def persisted_state(http: httpx.AsyncClient, want: str) -> dict[str, Any]:
    return await redis_state(http, want, entry="persisted", key="store")


async def test_two_gateways_share_registrations_through_redis_and_fall_back_without_it(
    seeded: Stores, issuer: TestIssuer, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="omnify.persisted")
    shared = {"redis_url": redis_server.url, "redis_timeout_s": 2.0, "apq_ttl_s": 600}
    with serving(seeded, issuer, **shared) as (one, _), serving(seeded, issuer, **shared) as (other, _):
        async with (
            httpx.AsyncClient(base_url=one.url, timeout=60) as a,
            httpx.AsyncClient(base_url=other.url, timeout=60) as b,
        ):
            token = issuer.token("acme", "analyst")
            assert (await persisted_state(a, "redis"))["ok"] is True
            document = fresh()
            assert not_found(await send(b, token, digest=sha(document)))
            assert ran(await send(a, token, query=document, digest=sha(document)))
            assert ran(await send(b, token, digest=sha(document)))  # registered through the other process
            kept = redis.Redis.from_url(redis_server.url, socket_timeout=5)
            key = PREFIX + sha(document)
            assert kept.get(key) == document.encode() and 0 < kept.ttl(key) <= 600

            redis_server.stop()
            during = fresh()
            assert ran(await send(a, token, query=during, digest=sha(during)))
            assert ran(await send(a, token, digest=sha(during)))  # in-process while Redis is away
            for http in (a, b):
                state = await persisted_state(http, "in-process (fallback)")
                assert state["ok"] is False and state["error"] and state["configured"] is True
            assert (
                noticed(caplog, "Redis is unavailable", "omnify.persisted") == 2
            )  # once per gateway, however many requests

            redis_server.start()
            for http in (a, b):
                await persisted_state(http, "redis")
            assert noticed(caplog, "Redis answers again", "omnify.persisted") == 2
            after = fresh()
            assert ran(await send(b, token, query=after, digest=sha(after)))
            # Shared again: a finds what b registered. Right after the outage a's link may still be
            # reconnecting, and a miss then is what a client recovers from (it sends the query), so
            # a is asked until it finds it, within a generous bound.
            for _ in range(60):
                if ran(await send(a, token, digest=sha(after))):
                    break
                await asyncio.sleep(0.5)
            else:
                raise AssertionError("a never found the document b registered once Redis was back")


async def test_redis_keeps_a_bounded_number_of_documents(redis_server: RedisServer) -> None:
    store = SharedDocuments(redis_server.url, 2.0, max_entries=3, ttl_s=60)
    try:
        documents = [fresh() for _ in range(5)]
        for document in documents:
            await store.put(sha(document), document)
            await asyncio.sleep(1.1)  # registration times are whole seconds: keep the order unambiguous
        found = [await store.get(sha(d)) for d in documents]
        assert found == [None, None, *documents[2:]]
        assert await store.client.zcard(INDEX) == 3
    finally:
        await store.close()
