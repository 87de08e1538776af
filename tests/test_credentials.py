"""createCredential, rotateCredential, revokeCredential: a write-only secret, sealed, bound to its row.

The gateway under test is `omnify-gateway serve` with OMNIFY_SECRET_KEY, DEBUG logs and traces sent
to a receiver here, so the secret can be looked for everywhere it must never be: responses, every log
line, /metrics, spans, action logs, idempotency records, the outbox and the audit trail.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
from pymongo import AsyncMongoClient

from gateway.core.config import ConfigError, load_settings
from gateway.core.vault import SecretDoesNotOpen, key_id_of, keyring, new_key_text, open_secret, parse_key
from gateway.data.ids import from_global_id
from gateway.ops.seed import seed_subject, uid
from tests.conftest import Stores, gql
from tests.support.issuer import TestIssuer
from tests.support.serve import ServeProcess, serve_environment
from tests.test_ingestion import delivered_audit
from tests.test_login import _production_env
from tests.test_tracing import Receiver

ORG = "initech"  # mutation tests change data: keep them to one organization
OTHER = "acme"
KEY_TEXT = new_key_text()
KEY = parse_key(KEY_TEXT)
TRACE_ID = "5cf92f3577b34da6a3ce929d0e0e4736"
FIELDS = "id platform keyHint status version rotatedAt revokedAt createdAt lastUsedAt"
PAYLOAD = f"credential {{ {FIELDS} }} actionLog {{ action payload result }} userErrors {{ code message field }}"
CREATE = f"mutation Create($input: CreateCredentialInput!) {{ createCredential(input: $input) {{ {PAYLOAD} }} }}"
ROTATE = f"mutation Rotate($input: RotateCredentialInput!) {{ rotateCredential(input: $input) {{ {PAYLOAD} }} }}"
REVOKE = f"mutation Revoke($input: RevokeCredentialInput!) {{ revokeCredential(input: $input) {{ {PAYLOAD} }} }}"


def fresh_secret() -> str:
    return "sk_live_" + secrets.token_hex(16)


@pytest.fixture(scope="module")
def keyed(
    seeded: Stores, issuer: TestIssuer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServeProcess, Receiver]]:
    receiver = Receiver()
    receiver.server.start()
    env = serve_environment(seeded.app_url, seeded.system_url, seeded.mongo_url, seeded.mongo_db, issuer)
    env |= {
        "OMNIFY_SECRET_KEY": KEY_TEXT,
        "OMNIFY_LOG_LEVEL": "DEBUG",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.server.url,
        "OTEL_SERVICE_NAME": "credentials-under-test",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    serve = ServeProcess(env, 1, tmp_path_factory.mktemp("credentials") / "serve.log").start()
    try:
        yield serve.wait_ready(), receiver
    finally:
        serve.stop()
        receiver.server.stop()


@pytest.fixture
async def http(keyed: tuple[ServeProcess, Receiver]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=keyed[0].url, timeout=60) as client:
        yield client


async def call(http: httpx.AsyncClient, query: str, input: dict[str, Any], token: str) -> dict[str, Any]:
    return await gql(http, query, {"input": input}, token=token, headers={"traceparent": f"00-{TRACE_ID}-{_span()}-01"})


def _span() -> str:
    return secrets.token_hex(8)


async def owner_db(stores: Stores) -> asyncpg.Connection[asyncpg.Record]:
    return await asyncpg.connect(stores.database_url)


CURRENT_SECRET = """SELECT c.id, c.organization_id, c.version, s.key_id, s.encrypted_secret
  FROM api_credentials c JOIN api_credential_secrets s
    ON s.credential_id = c.id AND s.organization_id = c.organization_id AND s.version = c.version
 WHERE c.id = ANY($1)"""


async def sealed_rows(stores: Stores, *global_ids: str) -> dict[UUID, asyncpg.Record]:
    """Each credential's current sealed secret, as a sync worker reads it (the owner's login here)."""
    conn = await owner_db(stores)
    try:
        rows = await conn.fetch(CURRENT_SECRET, [UUID(from_global_id(g)[1]) for g in global_ids])
        return {r["id"]: r for r in rows}
    finally:
        await conn.close()


def opened(keys: dict[str, bytes], row: asyncpg.Record, organization_id: UUID | None = None) -> str:
    return open_secret(
        keys,
        row["key_id"],
        row["encrypted_secret"],
        organization_id or row["organization_id"],
        row["id"],
        row["version"],
    )


async def credential_count(stores: Stores, org: str = ORG) -> int:
    conn = await owner_db(stores)
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM api_credentials WHERE organization_id = $1", uid("org", org))
        )
    finally:
        await conn.close()


async def stored_everywhere(stores: Stores) -> str:
    """Everything the mutations keep besides the credential row: action logs, idempotency, outbox, audit."""
    conn = await owner_db(stores)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stores.mongo_url)
    try:
        texts = [
            str([dict(r) for r in await conn.fetch(f"SELECT * FROM {table}")])
            for table in ("action_logs", "idempotency_keys", "outbox", "api_credentials", "api_credential_secrets")
        ]
        texts.append(str(await mongo[stores.mongo_db].audit_logs.find({}).to_list(None)))
    finally:
        await conn.close()
        await mongo.close()
    return "\n".join(texts)


def leaks(secret: str, *texts: str) -> list[str]:
    """Where the secret, or all of it but the hint, appears (the hint alone may be shown)."""
    return [text[max(0, text.find(secret[:-4]) - 80) :][:200] for text in texts if secret[:-4] in text]


async def test_the_secret_reaches_no_response_log_metric_trace_or_stored_record(
    keyed: tuple[ServeProcess, Receiver], http: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    serve, receiver = keyed
    admin = issuer.token(ORG, "admin")
    first, second = fresh_secret(), fresh_secret()
    responses: list[dict[str, Any]] = []
    create = {"platform": "META", "secret": first, "idempotencyKey": f"leak-{first[-6:]}"}
    responses.append(await call(http, CREATE, create, admin))
    responses.append(await call(http, CREATE, create, admin))  # the idempotent replay
    credential = responses[0]["data"]["createCredential"]["credential"]
    assert responses[0]["data"] == responses[1]["data"] and credential["keyHint"] == "…" + first[-4:]
    assert credential["version"] == 1 and credential["rotatedAt"] is None and credential["status"] == "ACTIVE"
    # Every member reads action logs: they name the platform and versions, not even the hint.
    assert responses[0]["data"]["createCredential"]["actionLog"] == {
        "action": "CREATE_CREDENTIAL",
        "payload": {"platform": "meta"},
        "result": {"version": 1},
    }
    rotate = {"credentialId": credential["id"], "secret": second, "idempotencyKey": f"rotate-{second[-6:]}"}
    responses.append(await call(http, ROTATE, rotate, admin))
    rotated = responses[-1]["data"]["rotateCredential"]["credential"]
    assert rotated["version"] == 2 and rotated["rotatedAt"] is not None and rotated["keyHint"] == "…" + second[-4:]
    assert responses[-1]["data"]["rotateCredential"]["actionLog"] == {
        "action": "ROTATE_CREDENTIAL",
        "payload": {},
        "result": {"fromVersion": 1, "toVersion": 2},
    }
    # Refused in every way there is, each with a secret in the request.
    responses.append(await call(http, CREATE, {"platform": "MYSPACE", "secret": first}, admin))  # bad variable
    literal = (
        f'mutation {{ createCredential(input: {{platform: MYSPACE, secret: "{second}"}}) {{ userErrors {{ code }} }} }}'
    )
    responses.append(await gql(http, literal, token=admin))  # a literal that fails validation
    responses.append(await call(http, CREATE, {"platform": "META", "secret": first + "\n"}, admin))  # a rule
    responses.append(await call(http, CREATE, {"platform": "META", "secret": first}, issuer.token(ORG, "marketer")))
    responses.append(await call(http, CREATE, {**create, "secret": second}, admin))  # same key, other input
    assert all(r["errors"] and not r.get("data") for r in responses[3:5]), responses[3:5]
    assert responses[5]["data"]["createCredential"]["userErrors"][0]["code"] == "SECRET_INVALID"
    assert [r["errors"][0]["extensions"]["code"] for r in responses[6:]] == ["FORBIDDEN", "CONFLICT"]
    node = f"query($id: ID!) {{ node(id: $id) {{ ... on ApiCredential {{ {FIELDS} }} }} }}"
    responses.append(await gql(http, node, {"id": credential["id"]}, token=admin))
    metrics = (await http.get("/metrics")).text
    audit = await delivered_audit(seeded, seed_subject(ORG, "admin"))
    assert {"createCredential", "rotateCredential"} <= {e["action"] for e in audit}
    spans = receiver.of_trace(TRACE_ID, lambda s: {"mutation Create", "mutation Rotate"} <= {x["name"] for x in s})
    assert {"mutation Create", "mutation Rotate"} <= {s["name"] for s in spans}
    texts = [str(responses), metrics, str(receiver.spans), serve.log.read_text(), await stored_everywhere(seeded)]
    assert leaks(first, str(create)) != []  # the search finds what it looks for
    for secret in (first, second):
        assert leaks(secret, *texts) == [], leaks(secret, *texts)
        assert secret.encode() not in b"".join(
            r["encrypted_secret"] for r in (await sealed_rows(seeded, credential["id"])).values()
        )


async def test_the_sealed_secret_opens_only_with_its_key_in_its_own_row(
    http: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    admin = issuer.token(ORG, "admin")
    secret = fresh_secret()
    made = [await call(http, CREATE, {"platform": "GOOGLE", "secret": secret}, admin) for _ in range(2)]
    a, b = (m["data"]["createCredential"]["credential"]["id"] for m in made)
    rows = await sealed_rows(seeded, a, b)
    row_a, row_b = rows[UUID(from_global_id(a)[1])], rows[UUID(from_global_id(b)[1])]
    org = uid("org", ORG)
    assert row_a["key_id"] == key_id_of(KEY) and row_a["organization_id"] == org and row_a["version"] == 1
    assert opened(keyring(KEY), row_a) == secret
    # A fresh nonce per sealing: the same secret never seals to the same bytes.
    assert row_a["encrypted_secret"][1:13] != row_b["encrypted_secret"][1:13]
    with pytest.raises(SecretDoesNotOpen):  # under another key
        opened({row_a["key_id"]: os.urandom(32)}, row_a)
    with pytest.raises(SecretDoesNotOpen):  # in another organization
        opened(keyring(KEY), row_a, uid("org", OTHER))
    # Moved into another credential's row (by someone with the database's owner login): it does not open there.
    conn = await owner_db(seeded)
    try:
        await conn.execute(
            "UPDATE api_credential_secrets SET encrypted_secret = $1 WHERE credential_id = $2",
            row_a["encrypted_secret"],
            row_b["id"],
        )
    finally:
        await conn.close()
    with pytest.raises(SecretDoesNotOpen):
        opened(keyring(KEY), (await sealed_rows(seeded, b))[row_b["id"]])
    # Rotation seals the new secret as version 2; version 1 stays sealed for its own place only.
    new = fresh_secret()
    rotated = await call(http, ROTATE, {"credentialId": a, "secret": new}, admin)
    assert rotated["data"]["rotateCredential"]["userErrors"] == [], rotated
    after = (await sealed_rows(seeded, a))[row_a["id"]]
    assert after["version"] == 2 and after["encrypted_secret"] != row_a["encrypted_secret"]
    assert opened(keyring(KEY), after) == new
    with pytest.raises(SecretDoesNotOpen):  # the old ciphertext presented as the new version
        open_secret(keyring(KEY), row_a["key_id"], row_a["encrypted_secret"], org, row_a["id"], 2)


async def test_the_request_login_can_neither_read_nor_rewrite_a_secret(seeded: Stores) -> None:
    conn = await asyncpg.connect(seeded.app_url)
    try:
        for sql in (
            "SELECT encrypted_secret FROM api_credentials",
            "SELECT encrypted_secret FROM api_credential_secrets",
            "SELECT count(*) FROM api_credential_secrets",
            "UPDATE api_credentials SET encrypted_secret = NULL",
            "UPDATE api_credential_secrets SET encrypted_secret = '\\x00'::bytea",
            "DELETE FROM api_credential_secrets",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(sql)
    finally:
        await conn.close()


async def _foreign_credential(http: httpx.AsyncClient, issuer: TestIssuer) -> str:
    body = await gql(
        http, "{ organization { credentials(first: 1) { edges { node { id } } } } }", token=issuer.token(OTHER, "admin")
    )
    found: str = body["data"]["organization"]["credentials"]["edges"][0]["node"]["id"]
    return found


async def test_user_errors_change_nothing(http: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores) -> None:
    admin = issuer.token(ORG, "owner")
    made = await call(http, CREATE, {"platform": "TIKTOK", "secret": fresh_secret()}, admin)
    mine = made["data"]["createCredential"]["credential"]["id"]
    campaign = (await gql(http, "{ organization { campaigns(first: 1) { edges { node { id } } } } }", token=admin))[
        "data"
    ]["organization"]["campaigns"]["edges"][0]["node"]["id"]
    foreign = await _foreign_credential(http, issuer)
    cases = [
        (CREATE, {"platform": "META", "secret": "   "}, "SECRET_REQUIRED", "secret"),
        (CREATE, {"platform": "META", "secret": "short-one"}, "SECRET_TOO_SHORT", "secret"),
        (CREATE, {"platform": "META", "secret": "x" * 4097}, "SECRET_TOO_LONG", "secret"),
        (CREATE, {"platform": "META", "secret": "tab\tinside-secret"}, "SECRET_INVALID", "secret"),
        (ROTATE, {"credentialId": "bogus", "secret": fresh_secret()}, "INVALID_ID", "credentialId"),
        (ROTATE, {"credentialId": campaign, "secret": fresh_secret()}, "INVALID_ID", "credentialId"),
        (ROTATE, {"credentialId": foreign, "secret": fresh_secret()}, "NOT_FOUND", "credentialId"),
        (REVOKE, {"credentialId": foreign}, "NOT_FOUND", "credentialId"),
    ]
    before = await credential_count(seeded), await credential_count(seeded, OTHER)
    for query, input, code, field in cases:
        body = await call(http, query, input, admin)
        result = next(iter(body["data"].values()))
        assert result["credential"] is None and result["actionLog"] is None, body
        assert [(e["code"], e["field"]) for e in result["userErrors"]] == [(code, field)], body
    assert (await credential_count(seeded), await credential_count(seeded, OTHER)) == before
    revoked = await call(http, REVOKE, {"credentialId": mine}, admin)
    assert revoked["data"]["revokeCredential"]["credential"]["status"] == "REVOKED"
    assert revoked["data"]["revokeCredential"]["credential"]["revokedAt"] is not None
    for query, input in [(REVOKE, {"credentialId": mine}), (ROTATE, {"credentialId": mine, "secret": fresh_secret()})]:
        body = await call(http, query, input, admin)
        assert [e["code"] for e in next(iter(body["data"].values()))["userErrors"]] == ["REVOKED"], body


@pytest.mark.parametrize("who", ["viewer", "analyst", "marketer", "actions:write", "metrics:write", "brain:write"])
async def test_only_admins_and_owners_manage_credentials(
    http: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores, who: str
) -> None:
    token = issuer.token(ORG, "owner", sub="partner-x", azp="partner-x", scope=who) if ":" in who else None
    token = token or issuer.token(ORG, who)
    existing = (await call(http, CREATE, {"platform": "EMAIL", "secret": fresh_secret()}, issuer.token(ORG, "admin")))[
        "data"
    ]["createCredential"]["credential"]["id"]
    before = await credential_count(seeded)
    for query, input in [
        (CREATE, {"platform": "META", "secret": fresh_secret()}),
        (ROTATE, {"credentialId": existing, "secret": fresh_secret()}),
        (REVOKE, {"credentialId": existing}),
    ]:
        body = await call(http, query, input, token)
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    assert await credential_count(seeded) == before
    assert (await sealed_rows(seeded, existing))[UUID(from_global_id(existing)[1])]["version"] == 1


async def test_without_a_secret_key_secrets_are_refused(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    # The suite's shared gateway runs without OMNIFY_SECRET_KEY.
    before = await credential_count(seeded)
    body = await call(client, CREATE, {"platform": "META", "secret": fresh_secret()}, issuer.token(ORG, "admin"))
    assert [e["code"] for e in body["data"]["createCredential"]["userErrors"]] == ["NOT_CONFIGURED"], body
    assert await credential_count(seeded) == before
    # The new fields read alike through both executors (the shared gateway compares them).
    listed = await gql(
        client,
        f"{{ organization {{ credentials(first: 50) {{ edges {{ node {{ {FIELDS} }} }} }} }} }}",
        token=issuer.token(ORG, "admin"),
    )
    nodes = [e["node"] for e in listed["data"]["organization"]["credentials"]["edges"]]
    assert nodes and all(n["version"] >= 1 for n in nodes) and "errors" not in listed, listed


def test_a_bad_secret_key_stops_the_start_without_quoting_it() -> None:
    for bad in ("not base64 at all!", KEY_TEXT[:20], new_key_text() + "AAAA"):
        with pytest.raises(ConfigError) as refused:
            load_settings(_production_env(OMNIFY_SECRET_KEY=bad))
        assert "OMNIFY_SECRET_KEY" in str(refused.value) and bad not in str(refused.value)
    settings = load_settings(_production_env(OMNIFY_SECRET_KEY=KEY_TEXT))
    assert settings.secret_key == KEY and KEY_TEXT not in repr(settings) and str(KEY) not in repr(settings)
    assert load_settings(_production_env()).secret_key is None


async def test_concurrent_rotations_each_get_their_own_version(
    http: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    admin = issuer.token(ORG, "admin")
    made = await call(http, CREATE, {"platform": "SHOPIFY", "secret": fresh_secret()}, admin)
    credential = made["data"]["createCredential"]["credential"]["id"]
    news = [fresh_secret() for _ in range(3)]
    bodies = await asyncio.gather(*(call(http, ROTATE, {"credentialId": credential, "secret": s}, admin) for s in news))
    results = [b["data"]["rotateCredential"] for b in bodies]
    assert all(r["userErrors"] == [] for r in results), bodies
    assert sorted(r["credential"]["version"] for r in results) == [2, 3, 4]
    current = (await sealed_rows(seeded, credential))[UUID(from_global_id(credential)[1])]
    last = next(s for s, r in zip(news, results, strict=True) if r["credential"]["version"] == 4)
    assert current["version"] == 4 and opened(keyring(KEY), current) == last
