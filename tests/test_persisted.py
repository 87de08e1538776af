"""Persisted queries (Apollo's APQ protocol) and trusted documents, through the real HTTP app with real tokens."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from gateway.core.config import ConfigError, load_settings
from gateway.core.persisted import INDEX, PREFIX, SharedDocuments
from tests.conftest import Stores
from tests.support.issuer import TestIssuer
from tests.support.redis import RedisServer, RedisUnavailable
from tests.test_fair_share import serving
from tests.test_ingestion import partner
from tests.test_subscriptions import SYNC_JOB, socket

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "gateway.ops.cli"]
GRAPHQL_RESPONSE = "application/graphql-response+json"
# A complete environment but for the stores, which `load_settings` only checks by their form.
ENV = {
    "MONGO_URL": "mongodb://mongo:27017",
    "DATABASE_URL": "postgresql://gw@pg:5432/brain",
    "DATABASE_SYSTEM_URL": "postgresql://gw_system@pg:5432/brain",
    "OIDC_ISSUER": "https://id.example.com/realms/omnify",
    "OIDC_AUDIENCE": "omnify-gateway",
}


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
    # A GET by hash is answered like a GET that sends the document (the same headers, nothing that forbids caching).
    by_text = await send(client, token, query=document, get=True)
    assert ran(by_text) and by_hash.json() == by_text.json()
    assert set(by_hash.headers) == set(by_text.headers) and "cache-control" not in by_hash.headers
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


@pytest.fixture
def redis_server(stores: Stores) -> Iterator[RedisServer]:
    try:
        server = RedisServer(stores.data_dir / "redis-apq")
    except RedisUnavailable as exc:
        pytest.skip(str(exc))
    server.start()
    server.flush()
    try:
        yield server
    finally:
        server.stop()


async def persisted_state(http: httpx.AsyncClient, want: str) -> dict[str, Any]:
    """`/readyz`'s `persisted` entry once its store is `want` (a generous deadline: a busy machine is slow)."""
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        response = await http.get("/readyz")
        assert response.status_code == 200, response.text  # Redis never makes the gateway unready
        state: dict[str, Any] = response.json()["persisted"]
        if state["store"] == want or asyncio.get_running_loop().time() > deadline:
            assert state["store"] == want, state
            return state
        await asyncio.sleep(0.2)


def noticed(caplog: pytest.LogCaptureFixture, text: str) -> int:
    return sum(text in r.getMessage() for r in caplog.records if r.name == "omnify.persisted")


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
            assert noticed(caplog, "Redis is unavailable") == 2  # once per gateway, however many requests

            redis_server.start()
            for http in (a, b):
                await persisted_state(http, "redis")
            assert noticed(caplog, "Redis answers again") == 2
            after = fresh()
            assert ran(await send(b, token, query=after, digest=sha(after)))
            assert ran(await send(a, token, digest=sha(after)))


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


# --- trusted documents -----------------------------------------------------------------------

LISTED = "query Listed { viewer { subject } }"
UNLISTED = "query Unlisted { viewer { subject } }"


async def test_partners_run_only_trusted_documents(seeded: Stores, issuer: TestIssuer) -> None:
    with serving(seeded, issuer, trusted_documents={sha(LISTED): LISTED}) as (server, _):
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            token = partner(issuer)
            for answer in [
                await send(http, token, query=UNLISTED),
                await send(http, token, query=UNLISTED, digest=sha(UNLISTED)),  # no registering around the list
                await send(http, token, digest=sha(fresh())),
            ]:
                assert answer.status_code == 403 and code(answer) == "PERSISTED_DOCUMENT_REQUIRED", answer.text
            for answer in [
                await send(http, token, document_id=f"sha256:{sha(LISTED)}"),
                await send(http, token, document_id=sha(LISTED)),
                await send(http, token, document_id=f"sha256:{sha(LISTED)}", get=True),
                await send(http, token, digest=sha(LISTED)),
                await send(http, token, digest=sha(LISTED), get=True),
                await send(http, token, query=LISTED),  # the listed text itself is trusted
            ]:
                assert ran(answer), answer.text
            unknown = await send(http, token, document_id=f"sha256:{sha(UNLISTED)}")
            assert unknown.status_code == 200 and code(unknown) == "PERSISTED_DOCUMENT_NOT_FOUND"
            strict = await send(http, token, document_id="x-custom:nope", accept=GRAPHQL_RESPONSE)
            assert strict.status_code == 400 and code(strict) == "PERSISTED_DOCUMENT_NOT_FOUND"
            both = await send(http, token, query=LISTED, document_id=sha(LISTED))
            assert both.status_code == 400 and code(both) == "BAD_USER_INPUT"
            # Users run anything by default, APQ included, and trusted documents by id too.
            user = issuer.token("globex", "analyst")
            assert ran(await send(http, user, query=UNLISTED))
            document = fresh()
            assert ran(await send(http, user, query=document, digest=sha(document)))
            assert ran(await send(http, user, document_id=sha(LISTED)))


async def test_users_held_to_trusted_documents_when_required(seeded: Stores, issuer: TestIssuer) -> None:
    overrides = {
        "trusted_documents": {sha(LISTED): LISTED},
        "trusted_users": "required",
        "trusted_partners": "optional",
    }
    with serving(seeded, issuer, **overrides) as (server, _):
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            user = issuer.token("acme", "viewer")
            refused = await send(http, user, query=UNLISTED)
            assert refused.status_code == 403 and code(refused) == "PERSISTED_DOCUMENT_REQUIRED"
            assert ran(await send(http, user, document_id=sha(LISTED)))
            assert ran(await send(http, partner(issuer), query=UNLISTED))
            assert (await http.get("/readyz")).json()["persisted"]["trustedDocuments"] == 1


def build(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "manifest", "build", *args], capture_output=True, text=True, timeout=60, cwd=tmp_path)


@pytest.mark.parametrize("form", ["codegen", "apollo"])
async def test_manifest_build_serve_and_run_by_hash(
    seeded: Stores, issuer: TestIssuer, tmp_path: Path, form: str
) -> None:
    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / "viewer.graphql").write_text(
        "query Who { viewer { ...Me } }\nfragment Me on Viewer { subject }\n"
    )
    (tmp_path / "ops" / "more.gql").write_text(
        "query Whose { viewer { ...Me } }\nquery Campaigns($n: Int!) { organization { campaigns(first: $n) "
        "{ edges { node { name } } } } }\nfragment Unused on Viewer { subject }\n"
    )
    made = build(tmp_path, "ops", "-o", "manifest.json", "--format", form)
    assert made.returncode == 0, made.stderr
    written = json.loads((tmp_path / "manifest.json").read_text())
    if form == "apollo":
        assert written["format"] == "apollo-persisted-query-manifest"
        assert sorted(o["name"] for o in written["operations"]) == ["Campaigns", "Who", "Whose"]
        ids = {o["name"]: o["id"] for o in written["operations"]}
    else:
        ids = {body.split("(")[0].split()[1]: digest for digest, body in written.items()}
    settings = load_settings({**ENV, "OMNIFY_TRUSTED_DOCUMENTS": str(tmp_path / "manifest.json")})
    documents = settings.trusted_documents or {}
    assert "fragment Me" in documents[ids["Whose"]] and "Unused" not in documents[ids["Whose"]]
    with serving(seeded, issuer, trusted_documents=documents) as (server, _):
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            token = partner(issuer)
            assert ran(await send(http, token, document_id=f"sha256:{ids['Who']}"))
            assert ran(await send(http, token, digest=ids["Whose"], get=True))
            answer = await http.post(
                "/graphql",
                json={"documentId": ids["Campaigns"], "variables": {"n": 2}},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
            assert len(answer.json()["data"]["organization"]["campaigns"]["edges"]) == 2


def test_manifest_build_refuses_what_it_cannot_list(tmp_path: Path) -> None:
    (tmp_path / "anonymous.graphql").write_text("{ viewer { subject } }")
    (tmp_path / "missing.graphql").write_text("query M { viewer { ...Nowhere } }")
    for name, expected in [("anonymous.graphql", "has no name"), ("missing.graphql", "unknown ...Nowhere")]:
        made = build(tmp_path, name)
        assert made.returncode == 1 and expected in made.stderr, made.stderr
    assert "no such file" in build(tmp_path, "absent").stderr


def test_settings_read_both_manifest_formats_and_refuse_a_lying_one(tmp_path: Path) -> None:
    sha1 = hashlib.sha1(LISTED.encode()).hexdigest()
    codegen = tmp_path / "codegen.json"
    codegen.write_text(json.dumps({sha(LISTED): LISTED, sha1: LISTED}))
    assert load_settings({**ENV, "OMNIFY_TRUSTED_DOCUMENTS": str(codegen)}).trusted_documents == {
        sha(LISTED): LISTED,
        sha1: LISTED,
    }
    apollo = tmp_path / "apollo.json"
    operations = [
        {"id": sha(LISTED), "name": "Listed", "type": "query", "body": LISTED},
        {"id": sha(LISTED), "name": "Lying", "type": "query", "body": UNLISTED},
        {"id": "sha256:" + "0" * 64, "name": "Zero", "type": "query", "body": LISTED},
    ]
    apollo.write_text(json.dumps({"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}))
    with pytest.raises(ConfigError) as caught:
        load_settings({**ENV, "OMNIFY_TRUSTED_DOCUMENTS": str(apollo), "OMNIFY_TRUSTED_DOCUMENTS_USERS": "maybe"})
    text = str(caught.value)
    assert "documents that do not match their hash" in text and "(Lying)" in text and "(Zero)" in text
    assert "OMNIFY_TRUSTED_DOCUMENTS_USERS='maybe' must be required or optional" in text
    for content, expected in [("{", "is not valid JSON"), ("[]", "expected"), ("{}", "lists no documents")]:
        apollo.write_text(content)
        with pytest.raises(ConfigError, match=expected):
            load_settings({**ENV, "OMNIFY_TRUSTED_DOCUMENTS": str(apollo)})
    with pytest.raises(ConfigError, match="needs a manifest"):
        load_settings({**ENV, "OMNIFY_TRUSTED_DOCUMENTS_USERS": "required"})
    assert load_settings({**ENV, "OMNIFY_APQ": "off", "OMNIFY_APQ_CACHE_SIZE": "5"}).apq is False


def test_serve_refuses_a_manifest_whose_hashes_do_not_match(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({sha(UNLISTED): LISTED}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMNIFY_", "REDIS_"))}
    env |= {**ENV, "DATABASE_URL": "", "DATABASE_SYSTEM_URL": "", "OMNIFY_TRUSTED_DOCUMENTS": str(manifest)}
    result = subprocess.run([*CLI, "serve"], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("invalid configuration") == 1  # one message, with every other problem
    assert "documents that do not match their hash" in result.stderr and sha(UNLISTED) in result.stderr
    assert "DATABASE_URL is not set" in result.stderr


async def test_subscriptions_follow_the_same_document_rules(seeded: Stores, issuer: TestIssuer) -> None:
    with serving(seeded, issuer, trusted_documents={sha(SYNC_JOB): SYNC_JOB}) as (server, _):
        async with socket(server.url, partner(issuer)) as ws:
            await ws.subscribe("raw", SYNC_JOB.replace("status", "status id"))
            refused = await ws.receive(within=30)
            assert refused["id"] == "raw" and refused["type"] == "error", refused
            assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_DOCUMENT_REQUIRED"
            await ws.send({"id": "listed", "type": "subscribe", "payload": {"documentId": f"sha256:{sha(SYNC_JOB)}"}})
            await ws.send({"id": "unknown", "type": "subscribe", "payload": {"documentId": sha(UNLISTED)}})
            unknown = await ws.receive(within=30)
            assert unknown["id"] == "unknown" and unknown["type"] == "error", unknown
            assert unknown["payload"][0]["extensions"]["code"] == "PERSISTED_DOCUMENT_NOT_FOUND"
            assert await ws.silent(1.0) == []  # the listed subscription runs: no error, no completion
